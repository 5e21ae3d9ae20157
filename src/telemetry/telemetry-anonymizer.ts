import { createHmac } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';

/** What identifies this installation and must never leave in a telemetry message. */
export interface IdentifyingValues {
  readonly deviceId: string;
  readonly iotHubHostname: string;
  readonly gatewayHostname: string;
  /** The host's names and non-loopback addresses (hostIdentifyingValues() reads them). */
  readonly hostnames: readonly string[];
  readonly addresses: readonly string[];
}

/** A hashed value: this prefix and the first 128 bits of HMAC-SHA-256(salt, value) in hex. */
export const HASH_PREFIX = 'sha256:';
const HASH_HEX_DIGITS = 32;
/** Azure replaces the edge device's id in `id` labels with this word (MetricsWorker.ReplaceDeviceId). */
export const DEVICE_REPLACEMENT = 'device';
/** The runtime's own modules, named alike on every installation (Azure keeps them readable too). */
const SYSTEM_MODULES = new Set(['$edgeHub', '$edgeAgent', 'edgeHub', 'edgeAgent']);
/** Values the hub writes itself in identity labels; they name nobody. */
const NEUTRAL_IDENTITIES = new Set(['', 'upstream', 'operator', 'other']);
/** Labels whose values are `device`, `device/module` or a module name. */
const IDENTITY_LABELS = new Set(['from', 'to', 'id', 'module_name']);
/** Labels whose values the code chooses from a fixed set (a reason, a protocol, a priority number). */
const ENUMERATED_LABELS = new Set(['priority', 'reason', 'protocol', 'command', 'source', 'target']);
const ENUMERATED_VALUE = /^[A-Za-z0-9_.-]{1,64}$/;
/**
 * A secret this long or longer is looked for inside values; a shorter one (a device called `d1`)
 * only as the whole value, or it would match half of every word.
 */
const MIN_CONTAINED_SECRET = 4;

/**
 * Turns label values of tagged metrics into values that identify nothing: the edge device's id
 * becomes `device`, other devices and every module except the runtime's own are hashed with the
 * installation's salt (stable across messages, so trends stay comparable, but not reversible
 * without the salt, which never leaves the data directory), free-form names (route outputs and
 * inputs, module versions, unknown labels) are hashed, and any value that still contains the
 * device id, the IoT hub's name, a host name or an address is hashed as well (defence in depth:
 * a client id is whatever the client sent).
 */
export class TelemetryAnonymizer {
  private readonly secrets: string[];

  constructor(
    private readonly salt: Buffer,
    private readonly values: IdentifyingValues,
  ) {
    const hubName = values.iotHubHostname.split('.')[0] ?? '';
    const gatewayShort = values.gatewayHostname.split('.')[0] ?? '';
    const all = [values.deviceId, values.iotHubHostname, hubName, values.gatewayHostname, gatewayShort, ...values.hostnames, ...values.hostnames.map((h) => h.split('.')[0] ?? ''), ...values.addresses];
    this.secrets = [...new Set(all.map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))];
  }

  hash(value: string): string {
    return HASH_PREFIX + createHmac('sha256', this.salt).update(value, 'utf8').digest('hex').slice(0, HASH_HEX_DIGITS);
  }

  /** The value to send for label `name`. */
  label(name: string, value: string): string {
    if (IDENTITY_LABELS.has(name)) return this.identity(value, name === 'module_name');
    if (ENUMERATED_LABELS.has(name) && ENUMERATED_VALUE.test(value)) return this.kept(value);
    return value === '' ? '' : this.hash(value);
  }

  /** True when `text` contains (or, for a short secret, is) an identifying value. */
  identifies(text: string): boolean {
    const lower = text.toLowerCase();
    return this.secrets.some((secret) => (secret.length >= MIN_CONTAINED_SECRET ? lower.includes(secret) : lower === secret));
  }

  private identity(value: string, moduleOnly: boolean): string {
    if (NEUTRAL_IDENTITIES.has(value)) return this.kept(value);
    const parts = value.split('/');
    if (moduleOnly) return parts.length === 1 ? this.module(value) : this.hash(value);
    if (parts.length === 1) return this.device(value);
    if (parts.length === 2) return `${this.device(parts[0]!)}/${this.module(parts[1]!)}`;
    return this.hash(value);
  }

  private device(deviceId: string): string {
    return deviceId === this.values.deviceId ? DEVICE_REPLACEMENT : this.hash(deviceId);
  }

  private module(moduleId: string): string {
    return SYSTEM_MODULES.has(moduleId) ? this.kept(moduleId) : this.hash(moduleId);
  }

  private kept(value: string): string {
    return this.identifies(value) ? this.hash(value) : value;
  }
}

/** The host's names and its addresses other than loopback, as the anonymizer looks for them. */
export function hostIdentifyingValues(): { hostnames: string[]; addresses: string[] } {
  const addresses: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) if (!address.internal) addresses.push(address.address);
  }
  return { hostnames: [hostname()], addresses };
}
