import { MethodHttpStatus, MethodLimits, methodError, type MethodAnswer, type MethodCall } from './method-types.js';

export type MethodCallParse = { readonly ok: true; readonly call: MethodCall; readonly payloadBytes: number } | { readonly ok: false; readonly answer: MethodAnswer };

const bad = (message: string): MethodCallParse => ({ ok: false, answer: methodError(MethodHttpStatus.BadRequest, 'ArgumentInvalid', message) });

// A method name goes into an MQTT topic level and, for AMQP, an application property.
const METHOD_NAME = /^[^/+#?\u0000]{1,256}$/u;

function timeout(value: unknown, name: string, min: number, max: number, fallback: number): number | string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return `${name} must be an integer from ${min} to ${max} seconds`;
  return value;
}

/**
 * Validates a direct-method request body (`{methodName, payload, responseTimeoutInSeconds,
 * connectTimeoutInSeconds}`) as IoT Hub does: 400 for a bad body, name or timeout, 413 for a
 * payload over 128 KiB (measured as the JSON the target receives).
 */
export function parseMethodCall(text: string): MethodCallParse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return bad(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('the request body must be a JSON object {methodName, payload, responseTimeoutInSeconds}');
  const fields = body as Record<string, unknown>;
  const { methodName } = fields;
  if (typeof methodName !== 'string' || !METHOD_NAME.test(methodName)) return bad('methodName must be a non-empty string of at most 256 characters without /, +, #, ? or U+0000');
  const response = timeout(fields.responseTimeoutInSeconds, 'responseTimeoutInSeconds', MethodLimits.minResponseTimeoutSec, MethodLimits.maxResponseTimeoutSec, MethodLimits.defaultResponseTimeoutSec);
  if (typeof response === 'string') return bad(response);
  const connect = timeout(fields.connectTimeoutInSeconds, 'connectTimeoutInSeconds', 0, MethodLimits.maxConnectTimeoutSec, 0);
  if (typeof connect === 'string') return bad(connect);
  const payload = fields.payload === undefined ? null : fields.payload;
  const payloadBytes = Buffer.byteLength(JSON.stringify(payload));
  if (payloadBytes > MethodLimits.maxPayloadBytes) {
    return { ok: false, answer: methodError(MethodHttpStatus.PayloadTooLarge, 'RequestEntityTooLarge', `the payload is ${payloadBytes} bytes; a method payload is at most ${MethodLimits.maxPayloadBytes} bytes`) };
  }
  return { ok: true, call: { methodName, payload, responseTimeoutInSeconds: response, connectTimeoutInSeconds: connect }, payloadBytes };
}
