/**
 * What the contract tests of one resource provider share: an emulator seeded with a service
 * principal, one subscription and a resource group, a token for it, and `call`, which sends an
 * operation of the spec by its operationId and checks the answer's status is declared and its
 * body validates against the operation's schema.
 */
import { expect } from "vitest";
import type { EmulatorHandle } from "../../emulator/index.js";
import { emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";
import type { SpecOperation, SpecSet } from "./specs.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by schema, then read freely
export type Body = any;

export interface SpecReply {
  status: number;
  body: Body;
  text: string;
  headers: Headers;
}

export interface SpecCaller {
  em: EmulatorHandle;
  token: string;
  call(operationId: string, params: Record<string, string>, body?: unknown): Promise<SpecReply>;
}

export async function startSpecCaller(
  specs: SpecSet,
  opts: {
    sp: { objectId: string; appId: string; secret: string; displayName: string };
    subscriptionId: string;
    lroDurationMs: number;
  },
): Promise<SpecCaller> {
  const { sp, subscriptionId } = opts;
  const em = await startTestEmulator({
    seed: {
      servicePrincipals: [{ ...sp, clientSecret: sp.secret }],
      subscriptions: [{ subscriptionId, displayName: "S" }],
      resourceGroups: [{ subscriptionId, name: "rg", location: "westeurope" }],
    },
    enforceRbac: false,
  });
  em.faults.update({ lroDurationMs: opts.lroDurationMs, lroRetryAfterSeconds: 0 });
  const token = (
    await emulatorSecretCredential(em.url, em.tenantId, sp.appId, sp.secret).getToken(
      "https://management.azure.com/.default",
    )
  ).token;
  async function call(operationId: string, params: Record<string, string>, body?: unknown) {
    const op: SpecOperation = specs.op(operationId);
    const url = op.pathTemplate.replace(/\{([^}]+)\}/g, (_, n: string) => encodeURIComponent(params[n]!));
    const res = await fetch(`${em.url}${url}?api-version=${op.apiVersion}`, {
      method: op.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const reply: SpecReply = {
      status: res.status,
      body: (text ? JSON.parse(text) : undefined) as Body,
      text,
      headers: res.headers,
    };
    const v = specs.validator(op, reply.status);
    expect(v, `${operationId}: status ${reply.status} undeclared (${text})`).not.toBe("undeclared");
    if (v && v !== "undeclared") expect(v(reply.body) ? [] : v.errors, `${operationId} ${text}`).toEqual([]);
    return reply;
  }
  return { em, token, call };
}
