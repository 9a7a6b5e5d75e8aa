/**
 * Whoever can edit the Function App's settings must not be able to send the managed identity's
 * tokens elsewhere: emulator-only settings are refused when the Functions host says it runs in
 * Azure, and endpoint overrides accept only loopback or a known Azure cloud's host.
 */
import { describe, expect, it } from "vitest";
import { getSettings, SettingsError } from "../../shared/config/settings.js";

const CLIENT = "9d3c2b1a-7e6f-4a5b-9c8d-1e2f3a4b5c6d";
const local = {
  STEWARD_AUTHORITY_HOST: "https://127.0.0.1:8443",
  STEWARD_LOCAL_CLIENT_SECRET: "local-only",
  STEWARD_IDENTITY_CLIENT_ID: CLIENT,
};

describe("emulator-only settings", () => {
  it("are accepted locally", () => {
    expect(getSettings({ ...local }).STEWARD_AUTHORITY_HOST).toBe("https://127.0.0.1:8443");
  });

  it.each(["WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME"])(
    "are refused when %s says the app runs in Azure",
    (marker) => {
      expect(() => getSettings({ ...local, [marker]: "func-aml-steward-x" })).toThrow(SettingsError);
      expect(() => getSettings({ ...local, [marker]: "x" })).toThrow(
        /STEWARD_AUTHORITY_HOST is for the local emulator only[\s\S]*STEWARD_LOCAL_CLIENT_SECRET is for the local emulator only/,
      );
      expect(() => getSettings({ STEWARD_LOCAL_CLIENT_SECRET: "s", [marker]: "x" })).toThrow(SettingsError);
    },
  );

  it("do not stop an Azure deployment that does not set them", () => {
    expect(() =>
      getSettings({ WEBSITE_SITE_NAME: "func", STEWARD_IDENTITY_CLIENT_ID: CLIENT }),
    ).not.toThrow();
  });
});

describe("endpoint overrides", () => {
  it.each([
    ["STEWARD_ARM_ENDPOINT", "https://localhost:8443"],
    ["STEWARD_ARM_ENDPOINT", "https://management.usgovcloudapi.net"],
    ["STEWARD_ARM_ENDPOINT", "https://management.chinacloudapi.cn/"],
    ["STEWARD_GRAPH_ENDPOINT", "https://graph.microsoft.us"],
    ["STEWARD_GRAPH_ENDPOINT", "https://microsoftgraph.chinacloudapi.cn"],
    ["STEWARD_GRAPH_ENDPOINT", "https://[::1]:9000"],
  ])("accept %s=%s", (key, value) => {
    expect(() => getSettings({ [key]: value })).not.toThrow();
  });

  it.each([
    ["STEWARD_ARM_ENDPOINT", "https://management.azure.com.evil.example"],
    ["STEWARD_ARM_ENDPOINT", "https://graph.microsoft.com"],
    ["STEWARD_GRAPH_ENDPOINT", "https://attacker.example"],
    ["STEWARD_GRAPH_ENDPOINT", "https://127.0.0.1.nip.io"],
    ["STEWARD_AUTHORITY_HOST", "https://login.evil.example"],
    ["STEWARD_ARM_ENDPOINT", "http://127.0.0.1:8443"],
  ])("refuse %s=%s", (key, value) => {
    expect(() => getSettings({ [key]: value, STEWARD_IDENTITY_CLIENT_ID: CLIENT })).toThrow(SettingsError);
  });
});
