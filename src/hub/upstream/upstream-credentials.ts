import { OutpostError } from '../../errors/index.js';
import type { IdentityRecord } from '../auth/index.js';

/** The registry's view the link needs: an identity's record (IdentityRegistry). */
export interface IdentityLookup {
  get(deviceId: string, moduleId?: string): IdentityRecord | undefined;
}

export interface UpstreamCredentialsOptions {
  readonly edgeDeviceId: string;
  /** upstream.connectionString: this edge device's own key (takes precedence over the registry). */
  readonly connectionString: string | undefined;
  readonly registry: IdentityLookup;
}

/**
 * Which SAS key signs each identity's token for the parent. Every identity signs as itself, with
 * its own key: the edge device with upstream.connectionString (or its registry entry), its
 * modules and child devices with their keys in the local identity registry. The parent must know
 * the same keys. Acting for children with the edge device's own key (`auth-chain`) is not built.
 */
export class UpstreamCredentials {
  private readonly edgeKey: string | undefined;

  constructor(private readonly options: UpstreamCredentialsOptions) {
    this.edgeKey = options.connectionString === undefined ? undefined : edgeKeyOf(options.connectionString, options.edgeDeviceId);
  }

  /** The base64 key for the identity, or undefined when it has none here (X.509, unknown). */
  keyFor(deviceId: string, moduleId: string | undefined): string | undefined {
    if (moduleId === undefined && deviceId === this.options.edgeDeviceId && this.edgeKey !== undefined) return this.edgeKey;
    const record = this.options.registry.get(deviceId, moduleId);
    if (record === undefined || record.status !== 'enabled' || record.authentication.type !== 'sas') return undefined;
    return record.authentication.primaryKey;
  }
}

/** SharedAccessKey of a device connection string for `edgeDeviceId`; throws a config error otherwise (never echoing the key). */
function edgeKeyOf(connectionString: string, edgeDeviceId: string): string {
  const fields = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const deviceId = fields.get('deviceid');
  const key = fields.get('sharedaccesskey');
  if (deviceId === undefined || key === undefined || key === '') {
    throw new OutpostError('OUTPOST_UPSTREAM_CONFIG_INVALID', 'upstream.connectionString must have DeviceId and SharedAccessKey');
  }
  if (deviceId !== edgeDeviceId) {
    throw new OutpostError('OUTPOST_UPSTREAM_CONFIG_INVALID', `upstream.connectionString names device ${JSON.stringify(deviceId)}, not this edge device ${JSON.stringify(edgeDeviceId)}`);
  }
  return key;
}
