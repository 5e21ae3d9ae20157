import { C2dStatus, type C2dSendInput, type C2dService } from '../c2d/index.js';
import type { HubControlAnswer } from './hub-control-server.js';

/**
 * The C2D endpoints of the hub control API (docs/c2d.md), where the operator plays the cloud:
 *
 *   POST /v1/devices/{deviceId}/messages/devicebound   body: {"body": text | "bodyBase64": …,
 *        "properties": {k: v}, "messageId", "correlationId", "userId", "contentType",
 *        "contentEncoding", "ttlSec"} → 202 {"messageId", "queued", "expiryTimeUtc"}
 *   GET  /v1/devices/{deviceId}/messages/devicebound   → 200 {"deviceId", "queued", "messages"}
 *
 * Errors are {"code", "message"}: 400 invalid, 403 queue full, 404 unknown device, 413 too large.
 */
export interface C2dControlHandlers {
  /** Undefined when the path is not a C2D endpoint. */
  route(method: string, parts: readonly string[], body: () => Promise<string>): Promise<HubControlAnswer> | undefined;
}

const STRING_FIELDS = ['messageId', 'correlationId', 'userId', 'contentType', 'contentEncoding'] as const;

export function c2dControl(c2d: C2dService): C2dControlHandlers {
  return {
    route(method, parts, body) {
      if (parts[0] !== 'v1' || parts[1] !== 'devices' || parts[2] === undefined || parts[3] !== 'messages' || parts[4] !== 'devicebound' || parts.length !== 5) return undefined;
      const deviceId = parts[2];
      if (method === 'POST') return body().then((text) => send(c2d, deviceId, text));
      if (method === 'GET') return Promise.resolve(list(c2d, deviceId));
      return undefined;
    },
  };
}

async function send(c2d: C2dService, deviceId: string, text: string): Promise<HubControlAnswer> {
  const input = parseInput(text);
  if (typeof input === 'string') return { status: C2dStatus.BadRequest, body: { code: 'OUTPOST_C2D_MESSAGE_INVALID', message: input } };
  const result = await c2d.send(deviceId, input);
  if (!result.ok) return { status: result.status, body: { code: result.code, message: result.reason } };
  return { status: C2dStatus.Accepted, body: { status: C2dStatus.Accepted, deviceId, messageId: result.messageId, queued: result.queued, expiryTimeUtc: result.expiryTimeUtc } };
}

function list(c2d: C2dService, deviceId: string): HubControlAnswer {
  if (!c2d.deviceExists(deviceId)) {
    return { status: C2dStatus.NotFound, body: { code: 'OUTPOST_C2D_DEVICE_NOT_FOUND', message: `device ${deviceId} is not in the identity registry (\`outpost identity list\`)` } };
  }
  const messages = c2d.list(deviceId).map(({ message, deliveries, inflight }) => ({
    messageId: message.messageId,
    ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
    enqueuedTimeUtc: new Date(message.enqueuedAtMs).toISOString(),
    expiryTimeUtc: new Date(message.expiresAtMs).toISOString(),
    bodyBytes: message.body.length,
    properties: message.properties,
    deliveries,
    inflight,
  }));
  return { status: C2dStatus.Ok, body: { deviceId, queued: messages.length, messages } };
}

/** The request body as a send, or why it is not one. */
function parseInput(text: string): C2dSendInput | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `the request is not valid JSON: ${(error as Error).message}`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'the request must be a JSON object';
  const o = json as Record<string, unknown>;
  if ((o.body === undefined) === (o.bodyBase64 === undefined)) return 'give exactly one of "body" (text) or "bodyBase64"';
  if (o.body !== undefined && typeof o.body !== 'string') return '"body" must be a string';
  if (o.bodyBase64 !== undefined && typeof o.bodyBase64 !== 'string') return '"bodyBase64" must be a string';
  const input: { -readonly [K in keyof C2dSendInput]: C2dSendInput[K] } = {
    body: typeof o.body === 'string' ? Buffer.from(o.body, 'utf8') : Buffer.from(o.bodyBase64 as string, 'base64'),
  };
  for (const field of STRING_FIELDS) {
    const value = o[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') return `"${field}" must be a string`;
    input[field] = value;
  }
  if (o.ttlSec !== undefined) {
    if (typeof o.ttlSec !== 'number') return '"ttlSec" must be a number';
    input.ttlSec = o.ttlSec;
  }
  if (o.properties !== undefined) {
    if (typeof o.properties !== 'object' || o.properties === null || Array.isArray(o.properties)) return '"properties" must be an object of strings';
    const properties: Record<string, string> = {};
    for (const [key, value] of Object.entries(o.properties)) {
      if (typeof value !== 'string') return `property ${JSON.stringify(key)} must be a string`;
      // defineProperty: a property named "__proto__" stays data.
      Object.defineProperty(properties, key, { value, enumerable: true, writable: true, configurable: true });
    }
    input.properties = properties;
  }
  return input;
}
