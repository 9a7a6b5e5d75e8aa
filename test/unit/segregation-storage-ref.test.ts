/**
 * Where a datastore or connection body points, read as an attacker would write it: casing,
 * dots, ports, private endpoints, `..`, ARM ids that claim another place, and endpoints that are
 * not Azure storage.
 */
import { describe, expect, it } from "vitest";
import {
  connectionStorage,
  dataVersionUri,
  datastoreStorage,
  storageTarget,
} from "../../shared/segregation/storageRef.js";

const acct = (accountName: string) => expect.objectContaining({ kind: "account", accountName });

describe("datastoreStorage", () => {
  it.each([
    [{ datastoreType: "AzureBlob", accountName: "stprod01" }, acct("stprod01")],
    [
      { datastoreType: "AzureBlob", accountName: " STPROD01 ", endpoint: "Core.Windows.Net." },
      acct("stprod01"),
    ],
    [{ datastoreType: "AzureDataLakeGen2", accountName: "stprod01", filesystem: "x" }, acct("stprod01")],
    [
      { datastoreType: "AzureFile", accountName: "stprod01", endpoint: "core.usgovcloudapi.net" },
      acct("stprod01"),
    ],
  ])("%o is %o", (props, want) => expect(datastoreStorage(props)).toEqual(want));

  it("is outside for Data Lake Gen1 and non-Azure endpoints, invalid for what cannot be a storage account", () => {
    expect(datastoreStorage({ datastoreType: "AzureDataLakeGen1", storeName: "s" }).kind).toBe("outside");
    expect(
      datastoreStorage({ datastoreType: "AzureBlob", accountName: "stprod01", endpoint: "evil.example" })
        .kind,
    ).toBe("outside");
    for (const bad of [
      { datastoreType: "AzureBlob" },
      { datastoreType: "AzureBlob", accountName: "st-prod" },
      { datastoreType: "AzureBlob", accountName: "st'or'1" },
      { datastoreType: "Mystery", accountName: "stprod01" },
      "not an object",
      { accountName: "stprod01" },
    ])
      expect(datastoreStorage(bad).kind, JSON.stringify(bad)).toBe("invalid");
  });
});

describe("connection targets", () => {
  it.each([
    "https://stprod01.blob.core.windows.net/raw",
    "HTTPS://STPROD01.Blob.Core.Windows.Net/raw/../x//",
    "https://stprod01.blob.core.windows.net.:443/",
    "stprod01.dfs.core.windows.net",
    "abfss://fs@stprod01.dfs.core.windows.net/path",
    "https://stprod01.privatelink.blob.core.windows.net/",
    "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-dev/providers/Microsoft.Storage/storageAccounts/stprod01",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/STPROD01/blobServices/default/",
  ])("%s is stprod01", (target) => expect(storageTarget(target, "t")).toEqual(acct("stprod01")));

  it.each([
    "https://github.com/contoso/x",
    "https://stprod01.blob.core.windows.net.evil.example/",
    "https://evil.example/?u=stprod01.blob.core.windows.net",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
    "::not a url::",
  ])("%s is not judged", (target) => expect(storageTarget(target, "t").kind).toBe("outside"));

  it("refuses '..' in an id, and a connection without a target is not storage", () => {
    expect(
      storageTarget(
        "/subscriptions/s/resourceGroups/rg/../x/providers/Microsoft.Storage/storageAccounts/stprod01",
        "t",
      ).kind,
    ).toBe("invalid");
    expect(connectionStorage({ category: "Git", authType: "PAT" }).kind).toBe("outside");
  });
});

describe("data version URIs", () => {
  it.each([
    "abfss://raw@STPROD01.DFS.Core.Windows.NET./tx/",
    "abfss://raw@stprod01%2Edfs.core.windows.net/tx",
    "wasbs://raw@StProd01.Blob.core.windows.net:443/a/../b",
    "wasb://raw@stprod01.blob.core.windows.net/b",
    "HTTPS://stprod01.blob.core.windows.net../raw/x.csv",
    "https://stprod01.privatelink.dfs.core.windows.net/raw",
  ])("%s is stprod01", (uri) => expect(storageTarget(uri, "data URI")).toEqual(acct("stprod01")));

  it.each([
    "https://example.com/data/x.csv",
    "https://stprod01.blob.core.windows.net.evil.example/raw",
    "./local/path",
    "s3://bucket/key",
  ])("%s is not Azure storage", (uri) => expect(storageTarget(uri, "data URI").kind).toBe("outside"));

  it("a host that cannot be decoded is invalid, not ignored", () => {
    expect(storageTarget("abfss://raw@stprod01%E0.dfs.core.windows.net/x", "data URI").kind).toBe("invalid");
  });

  it("dataVersionUri reads dataUri, trimmed; none is undefined", () => {
    expect(dataVersionUri({ dataType: "uri_folder", dataUri: " azureml://datastores/x/paths/y " })).toBe(
      "azureml://datastores/x/paths/y",
    );
    expect(dataVersionUri({ dataType: "uri_folder" })).toBeUndefined();
    expect(dataVersionUri("not an object")).toBeUndefined();
  });
});
