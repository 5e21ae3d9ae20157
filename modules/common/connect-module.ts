/**
 * Shared by the sample modules: connect with the Azure IoT SDK exactly as a module in Azure IoT
 * Edge does (ModuleClient.fromEnvironment: the IOTEDGE_* workload variables, or
 * EdgeHubConnectionString), retrying with backoff while the hub is not reachable yet, and log
 * JSON lines to stdout (the agent keeps them: `outpost logs <module>`).
 */
import deviceSdk from 'azure-iot-device';
import mqttTransport from 'azure-iot-device-mqtt';

export type ModuleClient = InstanceType<typeof deviceSdk.ModuleClient>;
export const { Message } = deviceSdk;

export function log(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export async function connectModule(): Promise<ModuleClient> {
  let delayMs = RETRY_MIN_MS;
  for (;;) {
    try {
      const client = await deviceSdk.ModuleClient.fromEnvironment(mqttTransport.Mqtt);
      await client.open();
      log('module.connected', { module: process.env.IOTEDGE_MODULEID, gateway: process.env.IOTEDGE_GATEWAYHOSTNAME });
      client.on('error', (error: Error) => log('module.client_error', { message: error.message }));
      return client;
    } catch (error) {
      log('module.connect_failed', { message: error instanceof Error ? error.message : String(error), retryInMs: delayMs });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
    }
  }
}

/** Exit cleanly on SIGTERM (the agent's stop), closing the connection first. */
export function closeOnSignal(client: () => ModuleClient | undefined): void {
  const stop = () => {
    const current = client();
    log('module.stopping');
    void (current === undefined ? Promise.resolve() : current.close()).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
