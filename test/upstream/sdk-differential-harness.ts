/**
 * The two recordings the differential test compares: the real Azure IoT device SDK's AMQP client
 * and a child Outpost's upstream link, each doing the same things for the same device (`dev1`)
 * against the same parent Outpost, through the same recording proxy (test/helpers/amqp-recorder.ts):
 * one telemetry message with the same properties, a twin GET, a subscription to desired
 * properties, one reported patch, a direct method invoked at the parent and answered, and a C2D
 * message from the parent completed.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConnectionString } from '../../src/hub/auth/index.js';
import { AmqpRecorder, type RecordedConnection } from '../helpers/amqp-recorder.js';
import { parentControl, retryUntil, sdkOnChild } from './relay-harness.js';
import { HUB, type TwoHubs } from './upstream-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, Message } = require('azure-iot-device') as Record<string, any>;
const { Amqp } = require('azure-iot-device-amqp') as { Amqp: unknown };

export const DEVICE = 'dev1';
export const REPORTED = { firmware: '1.2.3' };

/** The same telemetry message for both: every property the SDK lets a device set. */
export function telemetry(): any {
  const message = new Message(JSON.stringify({ t: 21.5 }));
  message.messageId = 'mid-1';
  message.correlationId = 'cid-1';
  message.contentType = 'application/json';
  message.contentEncoding = 'utf-8';
  message.properties.add('alert', 'high');
  return message;
}

/** The twin operations the test compares, done by an SDK client (AMQP here, MQTT on the child). */
async function twinOperations(client: any, reportedValue: string): Promise<void> {
  const twin = await client.getTwin();
  // A desired listener makes the SDK (and the relay, for the client on the child) subscribe: PUT.
  twin.on('properties.desired', () => undefined);
  await new Promise<void>((resolve, reject) => twin.properties.reported.update({ ...REPORTED, run: reportedValue }, (error: unknown) => (error ? reject(error) : resolve())));
}

export const METHOD = 'ping';
export const METHOD_ANSWER = { pong: true };

/** A direct-method handler on the client: the SDK (and, through the relay, the link) attaches the method links. */
function answerMethods(client: any): void {
  client.onDeviceMethod(METHOD, (_request: unknown, response: any) => response.send(200, METHOD_ANSWER, () => undefined));
}

/** A C2D listener on the client that completes each message: the SDK (and the relay) attach the C2D receiver. */
function completeC2d(client: any): void {
  client.on('message', (message: unknown) => client.complete(message, () => undefined));
}

/** The parent queues a C2D message for dev1 and waits until it was completed (its queue is empty again). */
async function c2dCompletedAtParent(hubs: TwoHubs, run: string): Promise<void> {
  const sent = await parentControl(hubs).call('POST', `/v1/devices/${DEVICE}/messages/devicebound`, JSON.stringify({ body: `c2d-${run}`, messageId: `c2d-${run}` }));
  if (sent.status !== 202) throw new Error(`C2D not queued: ${sent.status} ${JSON.stringify(sent.body)}`);
  await retryUntil(`the C2D message completed in the ${run} run`, async () => {
    const queue = (await parentControl(hubs).call('GET', `/v1/devices/${DEVICE}/messages/devicebound`)).body as { queued: number };
    return queue.queued === 0 ? true : undefined;
  }, 30_000, 250);
}

/** The parent invokes the method on dev1 until it is answered (the relay attaches its links in the background). */
async function invokedAtParent(hubs: TwoHubs, run: string): Promise<void> {
  await retryUntil(`the method answered in the ${run} run`, async () => {
    const answer = await parentControl(hubs).call('POST', `/v1/methods/${DEVICE}`, JSON.stringify({ methodName: METHOD, payload: { run }, responseTimeoutInSeconds: 10 }));
    return answer.status === 200 ? true : undefined;
  }, 30_000, 250);
}

async function reportedAtParent(hubs: TwoHubs, run: string): Promise<void> {
  await retryUntil(`the reported patch of the ${run} run at the parent`, async () => {
    const twin = (await parentControl(hubs).call('GET', `/v1/twins/${DEVICE}`)).body as any;
    return twin.properties?.reported?.run === run ? true : undefined;
  });
}

const hasTwinOperation = (record: RecordedConnection, operation: string) =>
  record.transfers.some((t) => t.link.address?.endsWith('/twin') && t.message.message_annotations?.operation === operation);

/** Records the SDK (first connection) and then the child's upstream link (second) against the started parent. */
export async function recordBoth(hubs: TwoHubs, clients: any[], recorders: AmqpRecorder[]): Promise<{ sdk: RecordedConnection; link: RecordedConnection }> {
  const parent = hubs.parent!;
  const certs = join(hubs.parentDir, 'certs');
  const recorder = new AmqpRecorder({ cert: readFileSync(join(certs, 'server.pem'), 'utf8'), key: readFileSync(join(certs, 'server.key.pem'), 'utf8') }, { port: parent.amqpPort, ca: parent.ca });
  // Handed over before anything can fail, so the test's after-hook stops it (and closes the SDK) whatever happens.
  recorders.push(recorder);
  const port = await recorder.start();

  // 1. The SDK, straight to the parent (through the recorder), as the device itself.
  const record = hubs.parentRegistry.get(DEVICE)!;
  const sdk = Client.fromConnectionString(buildConnectionString(record, { iotHubHostname: HUB, gatewayHostname: `localhost:${port}` }), Amqp);
  clients.push(sdk);
  await sdk.setOptions({ ca: parent.ca });
  await sdk.open();
  await sdk.sendEvent(telemetry());
  await twinOperations(sdk, 'sdk');
  await reportedAtParent(hubs, 'sdk');
  answerMethods(sdk);
  await invokedAtParent(hubs, 'sdk');
  completeC2d(sdk);
  await c2dCompletedAtParent(hubs, 'sdk');
  await sdk.close();

  // 2. The child's upstream link (through the recorder), for the same device on the child.
  await hubs.startChild(port);
  const device = await sdkOnChild(hubs, clients, DEVICE, undefined, undefined, 'mqtt');
  await device.sendEvent(telemetry());
  await twinOperations(device, 'link');
  await reportedAtParent(hubs, 'link');
  answerMethods(device);
  await invokedAtParent(hubs, 'link');
  completeC2d(device);
  await c2dCompletedAtParent(hubs, 'link');
  const complete = (candidate: RecordedConnection) =>
    candidate.transfers.some((t) => t.link.address?.endsWith('/messages/events')) &&
    candidate.transfers.some((t) => t.link.address?.endsWith('/methods/devicebound')) &&
    ['GET', 'PUT', 'PATCH'].every((op) => hasTwinOperation(candidate, op));
  const link = await retryUntil('the link\'s recording', async () => recorder.connections.slice(1).find(complete)).catch((error: Error) => {
    const seen = recorder.connections.map((c) => c.transfers.map((t) => `${t.link.address} ${t.message.message_annotations?.operation ?? ''}`));
    throw new Error(`${error.message}; recorded: ${JSON.stringify(seen)}`);
  });
  return { sdk: recorder.connections[0]!, link };
}
