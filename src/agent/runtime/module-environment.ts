import { createHash } from 'node:crypto';

/**
 * Gives each module its identity: the environment `ModuleClient.fromEnvironment` reads (the
 * IOTEDGE_* workload variables, or EdgeHubConnectionString + EdgeModuleCACertificateFile). The
 * composition root supplies the real one from the identity registry (src/hub/auth:
 * moduleEnvironment / connectionStringEnvironment); LocalModuleEnvironment is the stand-in that
 * needs nothing but configuration.
 */
export interface ModuleEnvironmentProvider {
  environmentFor(moduleId: string): Promise<Readonly<Record<string, string>>>;
}

export interface LocalModuleEnvironmentOptions {
  readonly deviceId: string;
  readonly iotHubHostname: string;
  /** How modules reach the hub: host, optionally `:port` (the SDK's MQTT and AMQP honour a port). */
  readonly gatewayHostname: string;
  /** `unix://<dataDir>/workload.sock`. */
  readonly workloadUri: string;
}

/** The workload API version iotedged announces (the Node SDK ignores it). */
const WORKLOAD_API_VERSION = '2018-06-28';

export class LocalModuleEnvironment implements ModuleEnvironmentProvider {
  constructor(private readonly options: LocalModuleEnvironmentOptions) {}

  async environmentFor(moduleId: string): Promise<Readonly<Record<string, string>>> {
    const { deviceId, iotHubHostname, gatewayHostname, workloadUri } = this.options;
    return {
      IOTEDGE_WORKLOADURI: workloadUri,
      IOTEDGE_DEVICEID: deviceId,
      IOTEDGE_MODULEID: moduleId,
      // Stable per device and module; the identity registry's real generation id replaces it.
      IOTEDGE_MODULEGENERATIONID: createHash('sha256').update(`${deviceId}/${moduleId}`).digest('hex').slice(0, 16),
      IOTEDGE_IOTHUBHOSTNAME: iotHubHostname,
      IOTEDGE_GATEWAYHOSTNAME: gatewayHostname,
      IOTEDGE_AUTHSCHEME: 'sasToken',
      IOTEDGE_APIVERSION: WORKLOAD_API_VERSION,
    };
  }
}
