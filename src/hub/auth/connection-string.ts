/**
 * The connection string an Azure SDK device or module uses to reach this gateway:
 *
 *   HostName=<iotHubHostname>;DeviceId=<d>;[ModuleId=<m>;]SharedAccessKey=<key>;GatewayHostName=<gateway>
 *
 * X.509 identities get `x509=true` in place of the key (the SDK then takes the certificate from
 * `setOptions({cert, key})`). HostName stays the hub's name: the SDK signs tokens and builds the
 * MQTT username with it, and connects to GatewayHostName.
 */
import { OutpostError } from '../../errors/index.js';
import { identityKey, type IdentityRecord } from './identity-record.js';

export interface ConnectionStringOptions {
  readonly iotHubHostname: string;
  readonly gatewayHostname: string;
  /** Which SAS key to put in; default primary. */
  readonly key?: 'primary' | 'secondary';
}

export function buildConnectionString(record: IdentityRecord, options: ConnectionStringOptions): string {
  const parts = [`HostName=${options.iotHubHostname}`, `DeviceId=${record.deviceId}`];
  if (record.moduleId !== undefined) parts.push(`ModuleId=${record.moduleId}`);
  const auth = record.authentication;
  if (auth.type === 'sas') parts.push(`SharedAccessKey=${options.key === 'secondary' ? auth.secondaryKey : auth.primaryKey}`);
  else if (auth.type === 'selfSigned' || auth.type === 'certificateAuthority') parts.push('x509=true');
  else {
    throw new OutpostError('OUTPOST_IDENTITY_INVALID', `${identityKey(record.deviceId, record.moduleId)} has authentication type none; it cannot connect with a connection string`);
  }
  parts.push(`GatewayHostName=${options.gatewayHostname}`);
  return parts.join(';');
}
