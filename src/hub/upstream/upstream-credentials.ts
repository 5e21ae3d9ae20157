import { OutpostError } from '../../errors/index.js';
import { formatAuthChain, identityChain, type IdentityRecord } from '../auth/index.js';

/** The registry's view the link needs: an identity's record (IdentityRegistry). */
export interface IdentityLookup {
  get(deviceId: string, moduleId?: string): IdentityRecord | undefined;
}

export interface UpstreamCredentialsOptions {
  readonly edgeDeviceId: string;
  /**
   * upstream.connectionString: this edge device's own key (takes precedence over the registry), or
   * its `$edgeHub` module's (`…;ModuleId=$edgeHub;…`), which is what IoT Hub expects an edge hub
   * to sign with when it acts for the identities below it.
   */
  readonly connectionString: string | undefined;
  readonly registry: IdentityLookup;
}

/**
 * How one identity's put-token is signed for the parent: with `key`, for the audience of
 * `signerDeviceId` (this edge device), and, when that is not the identity itself, the chain that
 * goes with it on the identity's links (`com.microsoft:auth-chain`, `leaf;…;thisEdge`).
 */
export interface UpstreamCredential {
  readonly signerDeviceId: string;
  /** `$edgeHub` when the token is its module's (the audience `{hub}/devices/{edge}/modules/$edgeHub`). */
  readonly signerModuleId: string | undefined;
  readonly key: string;
  readonly authChain: string | undefined;
}

/**
 * Which key signs each identity's token for the parent: this edge device's own, always (Azure's
 * edge hub in Scope mode, notes 6.2). The edge device signs its own token; for its modules and
 * the devices below it, it signs its own token and names the identity in the CBS put-token (the
 * audience) and its chain in the link's `com.microsoft:auth-chain`: on behalf of. The parent
 * checks that the identity is in this edge device's scope in its registry. Only this edge
 * device's key is needed here (upstream.connectionString, or its registry entry).
 */
export class UpstreamCredentials {
  private readonly edgeKey: { readonly key: string; readonly moduleId: string | undefined } | undefined;

  constructor(private readonly options: UpstreamCredentialsOptions) {
    this.edgeKey = options.connectionString === undefined ? undefined : edgeKeyOf(options.connectionString, options.edgeDeviceId);
  }

  /** The signer's own credential (this edge device's or its $edgeHub's key), for requests made as itself: the device scope. */
  signerCredential(): UpstreamCredential | undefined {
    const edgeDeviceId = this.options.edgeDeviceId;
    const key = this.edgeKey?.key ?? sasKeyOf(this.options.registry.get(edgeDeviceId));
    return key === undefined ? undefined : { signerDeviceId: edgeDeviceId, signerModuleId: this.edgeKey?.moduleId, key, authChain: undefined };
  }

  /** How to sign for the identity, or undefined when nothing can (no key of this edge device; the identity disabled here). */
  credentialFor(deviceId: string, moduleId: string | undefined): UpstreamCredential | undefined {
    const edgeDeviceId = this.options.edgeDeviceId;
    const key = this.edgeKey?.key ?? sasKeyOf(this.options.registry.get(edgeDeviceId));
    if (key === undefined) return undefined;
    const signerModuleId = this.edgeKey?.moduleId;
    if (moduleId === undefined && deviceId === edgeDeviceId) {
      // The edge device itself needs its own key: a module's token does not authenticate its
      // device (IoT Hub's rule, and a parent Outpost's); with $edgeHub's key it cannot be sent for.
      return signerModuleId === undefined ? { signerDeviceId: edgeDeviceId, signerModuleId, key, authChain: undefined } : undefined;
    }
    // Its $edgeHub signing for itself is its own identity, no chain.
    if (moduleId === signerModuleId && deviceId === edgeDeviceId) return { signerDeviceId: edgeDeviceId, signerModuleId, key, authChain: undefined };
    const record = this.options.registry.get(deviceId, moduleId);
    if (record !== undefined && record.status !== 'enabled') return undefined;
    const lookup = { edgeDeviceId, get: (d: string, m?: string) => this.options.registry.get(d, m) };
    // An identity whose chain is unknown here (not in the registry) is named with this edge device as its parent.
    const chain = identityChain(lookup, deviceId, moduleId) ?? [moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`, edgeDeviceId];
    return { signerDeviceId: edgeDeviceId, signerModuleId, key, authChain: formatAuthChain(chain) };
  }
}

const EDGE_HUB_MODULE = '$edgeHub';

function sasKeyOf(record: IdentityRecord | undefined): string | undefined {
  return record !== undefined && record.status === 'enabled' && record.authentication.type === 'sas' ? record.authentication.primaryKey : undefined;
}

/**
 * SharedAccessKey of a connection string for `edgeDeviceId` or its `$edgeHub` module, and that
 * module; throws a config error otherwise (never echoing the key).
 */
function edgeKeyOf(connectionString: string, edgeDeviceId: string): { key: string; moduleId: string | undefined } {
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
  const moduleId = fields.get('moduleid');
  if (moduleId !== undefined && moduleId !== EDGE_HUB_MODULE) {
    throw new OutpostError('OUTPOST_UPSTREAM_CONFIG_INVALID', `upstream.connectionString names module ${JSON.stringify(moduleId)}: only the edge device's own key or its ${EDGE_HUB_MODULE} module's can sign for the identities below it`);
  }
  return { key, moduleId };
}
