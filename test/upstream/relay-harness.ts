/**
 * What the relay tests add to TwoHubs: the real Azure IoT device SDK (AMQP) on the child, the
 * control API of either hub (what `outpost twin`, `outpost method invoke` and `outpost c2d` call),
 * and a TCP proxy between child and parent whose link can be cut and restored.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildConnectionString } from '../../src/hub/auth/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../../src/hub/control/index.js';
import { HUB, type TwoHubs } from './upstream-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, ModuleClient } = require('azure-iot-device') as Record<string, any>;
const { Amqp } = require('azure-iot-device-amqp') as { Amqp: unknown };
const { Mqtt } = require('azure-iot-device-mqtt') as { Mqtt: unknown };

/** An SDK client on the child over AMQP (default) or MQTT (TLS, the child's CA), opened; `beforeOpen` adds listeners first. */
export async function sdkOnChild(hubs: TwoHubs, opened: any[], deviceId: string, moduleId?: string, beforeOpen?: (client: any) => void, protocol: 'amqp' | 'mqtt' = 'amqp'): Promise<any> {
  const record = hubs.childRegistry.get(deviceId, moduleId)!;
  const port = protocol === 'amqp' ? hubs.child!.amqpPort : hubs.child!.mqttPort;
  const connectionString = buildConnectionString(record, { iotHubHostname: HUB, gatewayHostname: `localhost:${port}` });
  const client = (moduleId === undefined ? Client : ModuleClient).fromConnectionString(connectionString, protocol === 'amqp' ? Amqp : Mqtt);
  await client.setOptions({ ca: hubs.child!.ca });
  beforeOpen?.(client);
  await client.open();
  opened.push(client);
  return client;
}

export function parentControl(hubs: TwoHubs): HubControlClient {
  return new HubControlClient(join(hubs.parentDir, HUB_CONTROL_SOCKET));
}

export function childControl(hubs: TwoHubs): HubControlClient {
  return new HubControlClient(join(hubs.childDir, HUB_CONTROL_SOCKET));
}

/**
 * Retries `probe` until it returns a value other than undefined, or fails after `timeoutMs`
 * naming `what`: the relay attaches its links in the background, so the parent answers "not
 * connected" until they are there.
 */
export async function retryUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A TCP proxy on loopback to `targetPort` (which may change: a parent restarted on a new port stays
 * where the child looks). `cut` closes every connection and refuses new ones, `restore` listens
 * again on the same port; `stall` stops forwarding both ways with the connections left open (a
 * parent that answers slowly), `resume` forwards again.
 */
export class LinkCutter {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;

  constructor(public targetPort: number) {}

  /** Listens on `port` (0: a free one) and returns it. */
  async start(port = 0): Promise<number> {
    await this.listen(port);
    return this.port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const pair of this.pairs) for (const socket of pair) socket.destroy();
    this.pairs.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restore(): Promise<void> {
    await this.listen(this.port);
  }

  stall(): void {
    for (const [inbound, outbound] of this.pairs) {
      inbound.unpipe(outbound);
      outbound.unpipe(inbound);
      inbound.pause();
      outbound.pause();
    }
  }

  resume(): void {
    for (const [inbound, outbound] of this.pairs) {
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    }
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect({ host: 'localhost', port: this.targetPort });
      const pair: [Socket, Socket] = [inbound, outbound];
      this.pairs.add(pair);
      for (const socket of pair) {
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.pairs.delete(pair);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }
}
