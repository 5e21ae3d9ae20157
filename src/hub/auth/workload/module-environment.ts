/**
 * The environment a module needs for `ModuleClient.fromEnvironment` (azure-iot-sdk-wire.md): the
 * workload-API variables iotedged sets, or the alternative `EdgeHubConnectionString` +
 * `EdgeModuleCACertificateFile` that the SDK tries first. The agent calls these for every module.
 */
import { buildConnectionString } from '../connection-string.js';
import type { IdentityRecord } from '../identity-record.js';

/** The workload API version the Node SDK speaks (it sends this, and ignores IOTEDGE_APIVERSION). */
export const WORKLOAD_API_VERSION = '2018-06-28';

export interface ModuleEnvironmentOptions {
  /** The module's identity (registry.ensureModule): ids and generation id. */
  readonly record: IdentityRecord;
  /** `unix://<socket>` (WorkloadServer.uri). */
  readonly workloadUri: string;
  readonly iotHubHostname: string;
  /** How the module reaches the hub: host name, optionally `:port` (MQTT and AMQP honour a port). */
  readonly gatewayHostname: string;
  readonly apiVersion?: string;
}

export function moduleEnvironment(options: ModuleEnvironmentOptions): Record<string, string> {
  const { record } = options;
  if (record.moduleId === undefined) throw new TypeError('moduleEnvironment: the identity is a device, not a module');
  return {
    IOTEDGE_WORKLOADURI: options.workloadUri,
    IOTEDGE_DEVICEID: record.deviceId,
    IOTEDGE_MODULEID: record.moduleId,
    IOTEDGE_MODULEGENERATIONID: record.generationId,
    IOTEDGE_IOTHUBHOSTNAME: options.iotHubHostname,
    IOTEDGE_GATEWAYHOSTNAME: options.gatewayHostname,
    IOTEDGE_AUTHSCHEME: 'sasToken',
    IOTEDGE_APIVERSION: options.apiVersion ?? WORKLOAD_API_VERSION,
  };
}

export interface ConnectionStringEnvironmentOptions {
  readonly record: IdentityRecord;
  readonly iotHubHostname: string;
  readonly gatewayHostname: string;
  /** PEM file with the CA the module must trust (passed to setOptions({ca}) by the SDK). */
  readonly caFile: string;
}

/** The SDK's first choice: a connection string with the module's key, and the CA file. */
export function connectionStringEnvironment(options: ConnectionStringEnvironmentOptions): Record<string, string> {
  return {
    EdgeHubConnectionString: buildConnectionString(options.record, { iotHubHostname: options.iotHubHostname, gatewayHostname: options.gatewayHostname }),
    EdgeModuleCACertificateFile: options.caFile,
  };
}
