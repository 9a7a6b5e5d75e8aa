/**
 * ARM error bodies. Codes and messages follow what Azure sends (checked against public
 * reports of the real messages) so that code matching on `RestError.code` behaves the same.
 */
import type { EmuResponse } from "../types.js";

export function armError(
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): EmuResponse {
  return { status, headers, body: { error: { code, message } } };
}

/** Thrown inside handlers to abort with an ARM error; the router turns it into a response. */
export class ArmFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  toResponse(): EmuResponse {
    return armError(this.status, this.code, this.message);
  }
}

export const fail = (status: number, code: string, message: string): never => {
  throw new ArmFailure(status, code, message);
};

export const subscriptionNotFound = (sub: string): never =>
  fail(404, "SubscriptionNotFound", `The subscription '${sub}' could not be found.`);

export const resourceGroupNotFound = (rg: string): never =>
  fail(404, "ResourceGroupNotFound", `Resource group '${rg}' could not be found.`);

export const resourceNotFound = (type: string, name: string, rg: string | undefined): never =>
  fail(
    404,
    "ResourceNotFound",
    rg
      ? `The Resource '${type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`
      : `The Resource '${type}/${name}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );

export const parentResourceNotFound = (parentName: string): never =>
  fail(
    404,
    "ParentResourceNotFound",
    `Can not perform requested operation on nested resource. Parent resource '${parentName}' not found.`,
  );

export const invalidRequestContent = (message: string): never => fail(400, "InvalidRequestContent", message);
