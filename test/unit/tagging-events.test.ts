import { describe, expect, it } from "vitest";
import {
  callerFromClaims,
  deliveryKey,
  eventDate,
  parseResourceWriteEvent,
} from "../../shared/events/resourceWrite.js";
import { loopGuard } from "../../shared/tagging/loopGuard.js";

const SUB = "0b7e3f5c-2a9d-4e6b-8c1f-5d3a9e7b2c02";
// Spelled like Microsoft's documentation samples: "resourcegroups" in lower case.
const ID = `/subscriptions/${SUB}/resourcegroups/rg-aml-fraud-dev/providers/Microsoft.Storage/storageAccounts/stfraud`;
const OID = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";

function data(over: Record<string, unknown> = {}) {
  return {
    authorization: {
      scope: ID,
      action: "Microsoft.Storage/storageAccounts/write",
      evidence: { role: "Contributor", principalId: "p-1", principalType: "User" },
    },
    claims: {
      [OID]: "u-1",
      [UPN]: "bob@contoso.com",
      appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      name: "Bob",
    },
    correlationId: "corr-1",
    operationName: "Microsoft.Storage/storageAccounts/write",
    resourceProvider: "Microsoft.Storage",
    resourceUri: ID,
    status: "Succeeded",
    subscriptionId: SUB,
    tenantId: "t",
    ...over,
  };
}

const eventGrid = (over: Record<string, unknown> = {}, d = data()) => ({
  id: "ev-1",
  topic: `/subscriptions/${SUB}`,
  subject: ID,
  eventType: "Microsoft.Resources.ResourceWriteSuccess",
  eventTime: "2025-03-04T23:59:58.1234567Z",
  dataVersion: "2",
  metadataVersion: "1",
  data: d,
  ...over,
});

const cloudEvent = (over: Record<string, unknown> = {}, d = data()) => ({
  specversion: "1.0",
  id: "ev-1",
  source: `/subscriptions/${SUB}`,
  subject: ID,
  type: "Microsoft.Resources.ResourceWriteSuccess",
  time: "2025-03-04T23:59:58.1234567Z",
  data: d,
  ...over,
});

describe("parseResourceWriteEvent", () => {
  it("parses the Event Grid schema", () => {
    const r = parseResourceWriteEvent(eventGrid());
    expect(r).toEqual({
      kind: "resourceWrite",
      event: {
        schema: "eventGrid",
        id: "ev-1",
        eventType: "Microsoft.Resources.ResourceWriteSuccess",
        eventTime: "2025-03-04T23:59:58.1234567Z",
        resourceId: ID,
        subscriptionId: SUB,
        operationName: "Microsoft.Storage/storageAccounts/write",
        correlationId: "corr-1",
        caller: {
          objectId: "u-1",
          appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
          upn: "bob@contoso.com",
          name: "Bob",
          kind: "user",
          evidencePrincipalId: "p-1",
        },
        source: `/subscriptions/${SUB}`,
        subject: ID,
      },
    });
  });

  it("keys a delivery on its id, topic (or source) and subject, not the id alone", () => {
    const a = parseResourceWriteEvent(eventGrid());
    const sameIdOtherSubject = parseResourceWriteEvent(
      eventGrid({ subject: `${ID}2` }, { ...data(), resourceUri: `${ID}2` }),
    );
    const sameAsCloudEvent = parseResourceWriteEvent(cloudEvent());
    if (
      a.kind !== "resourceWrite" ||
      sameIdOtherSubject.kind !== "resourceWrite" ||
      sameAsCloudEvent.kind !== "resourceWrite"
    )
      throw new Error("unreachable");
    expect(deliveryKey(a.event)).not.toBe(deliveryKey(sameIdOtherSubject.event));
    expect(deliveryKey(a.event)).toBe(deliveryKey(sameAsCloudEvent.event));
  });

  it("parses CloudEvents 1.0 into the same shape", () => {
    const a = parseResourceWriteEvent(eventGrid());
    const b = parseResourceWriteEvent(cloudEvent());
    expect(b.kind).toBe("resourceWrite");
    if (a.kind !== "resourceWrite" || b.kind !== "resourceWrite") throw new Error("unreachable");
    expect({ ...b.event, schema: "eventGrid" }).toEqual(a.event);
    expect(b.event.schema).toBe("cloudEvents");
  });

  it("accepts JSON text", () => {
    expect(parseResourceWriteEvent(JSON.stringify(cloudEvent())).kind).toBe("resourceWrite");
  });

  it("tolerates odd casing of event types, property names and claim names", () => {
    const odd = {
      ID: "ev-2",
      Subject: ID.toUpperCase(),
      EventType: "microsoft.resources.resourcewritesuccess",
      EventTime: "2025-03-04T10:00:00Z",
      Data: {
        OperationName: "Microsoft.Storage/storageAccounts/write",
        ResourceUri: ID.toUpperCase(),
        Claims: { [OID.toUpperCase()]: "u-2", IDTYP: "app", AppId: "a-2" },
        Authorization: { Evidence: { PrincipalId: "p-2" } },
      },
    };
    const r = parseResourceWriteEvent(odd);
    expect(r.kind).toBe("resourceWrite");
    if (r.kind !== "resourceWrite") return;
    expect(r.event.resourceId).toBe(ID.toUpperCase());
    expect(r.event.subscriptionId).toBe(SUB.toUpperCase());
    expect(r.event.caller).toEqual({
      objectId: "u-2",
      appId: "a-2",
      kind: "app",
      evidencePrincipalId: "p-2",
    });
  });

  it("reads events of writes made by Azure itself (empty claims, evidence as an array)", () => {
    const r = parseResourceWriteEvent(
      eventGrid({}, data({ claims: {}, authorization: { scope: ID, action: "x", evidence: [] } })),
    );
    expect(r.kind === "resourceWrite" && r.event.caller).toEqual({ kind: "unknown" });
    const odd = parseResourceWriteEvent(
      eventGrid({}, data({ claims: "nope", authorization: "nope", correlationId: 5 })),
    );
    expect(odd.kind === "resourceWrite" && odd.event.correlationId).toBeUndefined();
  });

  it("falls back to the subject when data has no resourceUri", () => {
    const d = data();
    delete (d as Record<string, unknown>).resourceUri;
    const r = parseResourceWriteEvent(eventGrid({}, d));
    expect(r.kind === "resourceWrite" && r.event.resourceId).toBe(ID);
  });

  it("keeps subscription-scope ids (the core decides they are not resources)", () => {
    const id = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/x`;
    const r = parseResourceWriteEvent(eventGrid({ subject: id }, data({ resourceUri: id })));
    expect(r.kind).toBe("resourceWrite");
  });

  it("reads deletes (a deleted role assignment is access drift) and ignores other event types", () => {
    const del = parseResourceWriteEvent(
      eventGrid({ eventType: "microsoft.resources.resourcedeletesuccess" }),
    );
    expect(del.kind === "resourceWrite" && del.event.eventType).toBe(
      "Microsoft.Resources.ResourceDeleteSuccess",
    );
    expect(
      parseResourceWriteEvent(eventGrid({ eventType: "Microsoft.Resources.ResourceWriteFailure" })),
    ).toEqual({
      kind: "ignored",
      id: "ev-1",
      eventType: "Microsoft.Resources.ResourceWriteFailure",
    });
    expect(
      parseResourceWriteEvent(cloudEvent({ type: "Microsoft.Resources.ResourceActionSuccess" })).kind,
    ).toBe("ignored");
  });

  it.each([
    ["null", null, /not a JSON object/],
    ["a number", 42, /not a JSON object/],
    ["bad JSON text", "{nope", /not valid JSON/],
    ["no id", { ...eventGrid(), id: undefined }, /id/],
    ["no event type", { ...eventGrid(), eventType: "" }, /eventType/],
    ["a bad time", eventGrid({ eventTime: "not a time" }), /eventTime: is not a valid timestamp/],
    ["CloudEvent without time", { ...cloudEvent(), time: undefined }, /CloudEvent: time/],
    ["CloudEvent 0.3", cloudEvent({ specversion: "0.3" }), /unsupported specversion/],
    ["no data", eventGrid({ data: undefined }), /data/],
    ["data without operationName", eventGrid({}, data({ operationName: undefined })), /operationName/],
    [
      "a non-ARM subject",
      eventGrid({ subject: "/foo/bar" }, data({ resourceUri: "/foo/bar" })),
      /not a resource id/,
    ],
    [
      "no subject at all",
      eventGrid({ subject: undefined }, data({ resourceUri: undefined })),
      /no resourceUri or subject/,
    ],
    // The id becomes an ARM request path, which the SDKs send unencoded.
    [
      "an id that would start a query string",
      eventGrid({}, data({ resourceUri: `${ID}?api-version=2020-01-01&x=` })),
      /not a resource id/,
    ],
    [
      "an id that would start a fragment",
      eventGrid({ subject: `${ID}#x` }, data({ resourceUri: undefined })),
      /not a resource id/,
    ],
    [
      "an id with a control character",
      eventGrid({}, data({ resourceUri: `${ID}\n/x` })),
      /not a resource id/,
    ],
  ])("reports a malformed event: %s", (_name, raw, reason) => {
    const r = parseResourceWriteEvent(raw);
    expect(r.kind).toBe("malformed");
    if (r.kind === "malformed") expect(r.reason).toMatch(reason);
  });

  it("keeps the id of a malformed event for the log", () => {
    const r = parseResourceWriteEvent(eventGrid({ eventTime: "x" }));
    expect(r).toMatchObject({ kind: "malformed", id: "ev-1" });
  });
});

describe("callerFromClaims", () => {
  it("reads a user's token (UPN present)", () => {
    expect(callerFromClaims({ [UPN]: "a@b", [OID]: "o", appid: "cli" }).kind).toBe("user");
    expect(callerFromClaims({ upn: "a@b" })).toMatchObject({ kind: "user", upn: "a@b" });
  });

  it("reads an app token (idtyp=app, or an appid without UPN or scopes)", () => {
    expect(callerFromClaims({ idtyp: "app", appid: "a", [OID]: "o" })).toMatchObject({
      kind: "app",
      appId: "a",
      objectId: "o",
    });
    expect(callerFromClaims({ appid: "a", oid: "o" })).toMatchObject({ kind: "app", objectId: "o" });
    expect(callerFromClaims({ appid: "a", scp: "user_impersonation" }).kind).toBe("user");
  });

  it("is unknown without claims", () => {
    expect(callerFromClaims(undefined)).toEqual({ kind: "unknown" });
  });
});

describe("eventDate", () => {
  it("is the UTC date of the event time", () => {
    expect(eventDate("2025-03-04T23:59:58.1234567Z")).toBe("2025-03-04");
    expect(eventDate("2025-03-05T00:30:00+01:00")).toBe("2025-03-04");
  });
});

describe("loopGuard", () => {
  const self = {
    objectId: "11111111-1111-1111-1111-111111111111",
    clientId: "22222222-2222-2222-2222-222222222222",
  };
  const ev = (over: Record<string, unknown>, claims: Record<string, unknown>, evidence = "p") => {
    const r = parseResourceWriteEvent(
      eventGrid({}, data({ ...over, claims, authorization: { evidence: { principalId: evidence } } })),
    );
    if (r.kind !== "resourceWrite") throw new Error(JSON.stringify(r));
    return r.event;
  };

  it("lets tag writes by others through (they may have removed a cost tag) and stops our own", () => {
    expect(
      loopGuard(ev({ operationName: "Microsoft.Resources/tags/write" }, { upn: "bob" }), self),
    ).toBeUndefined();
    expect(
      loopGuard(
        ev({ operationName: "microsoft.resources/TAGS/write" }, {}, self.objectId.replace(/-/g, "")),
        self,
      ),
    ).toBe("ownWrite");
  });

  it("stops writes by our own identity (object id, app id or evidence), in any casing", () => {
    expect(loopGuard(ev({}, { [OID]: self.objectId.toUpperCase() }), self)).toBe("ownWrite");
    expect(loopGuard(ev({}, { appid: self.clientId, idtyp: "app" }), self)).toBe("ownWrite");
    expect(loopGuard(ev({}, {}, self.objectId), self)).toBe("ownWrite");
    // Azure spells evidence.principalId without dashes.
    expect(loopGuard(ev({}, {}, self.objectId.replace(/-/g, "")), self)).toBe("ownWrite");
  });

  it("lets other callers through", () => {
    expect(loopGuard(ev({}, { upn: "bob", [OID]: "x", appid: "y" }), self)).toBeUndefined();
    expect(loopGuard(ev({}, { upn: "bob" }), {})).toBeUndefined();
  });
});
