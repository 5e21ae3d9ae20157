/**
 * The shape of a device or module identity, as IoT Hub describes it (`authentication.type` uses
 * IoT Hub's names so identities synced from upstream map one to one), and the checks every
 * identity passes before it enters the registry, whether typed by an operator or synced.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export type IdentityStatus = 'enabled' | 'disabled';

/** Where an identity came from: `outpost identity`, the upstream device scope, or the deployment. */
export type IdentitySource = 'local' | 'upstream' | 'deployment';

export type IdentityAuthentication =
  | { readonly type: 'sas'; readonly primaryKey: string; readonly secondaryKey: string }
  | { readonly type: 'selfSigned'; readonly primaryThumbprint: string; readonly secondaryThumbprint?: string }
  | { readonly type: 'certificateAuthority' }
  | { readonly type: 'none' };

export interface IdentityRecord {
  readonly deviceId: string;
  /** Present for a module; a module belongs to the device `deviceId`. */
  readonly moduleId?: string;
  readonly status: IdentityStatus;
  readonly authentication: IdentityAuthentication;
  /** Devices only: the edge device this device connects through and that may act for it. */
  readonly parentDeviceId?: string;
  /** Devices only: an IoT Edge device, which may be the parent of other devices. */
  readonly edge?: boolean;
  /** Changes whenever the identity is deleted and created again (the workload API checks it). */
  readonly generationId: string;
  readonly source: IdentitySource;
}

/** `deviceId` or `deviceId/moduleId`: the registry key, the MQTT client id, the policy's id. */
export function identityKey(deviceId: string, moduleId?: string): string {
  return moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
}

// IoT Hub device and module ids: up to 128 ASCII letters, digits and - . + % _ # * ? ! ( ) , : = @ $ '
// (Learn, "Device identity properties"). No '/', so `device/module` is never ambiguous.
const ID_PATTERN = /^[A-Za-z0-9\-.+%_#*?!(),:=@$']{1,128}$/;
// Base64 as IoT Hub and the SDKs write it: canonical, padded.
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 64;
const GENERATED_KEY_BYTES = 32;
const SHA1_HEX_LENGTH = 40;
const SHA256_HEX_LENGTH = 64;

export function idProblem(what: 'device' | 'module', id: string): string | undefined {
  return ID_PATTERN.test(id)
    ? undefined
    : `${what} id ${JSON.stringify(id.slice(0, 140))} must be 1-128 ASCII letters, digits or - . + % _ # * ? ! ( ) , : = @ $ '`;
}

/** Why `key` is not a usable symmetric key, or undefined. Never echoes the key. */
export function keyProblem(name: string, key: string): string | undefined {
  if (!BASE64_PATTERN.test(key)) return `${name} is not base64`;
  const bytes = Buffer.from(key, 'base64').length;
  return bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES ? `${name} must be ${MIN_KEY_BYTES}-${MAX_KEY_BYTES} bytes (it is ${bytes})` : undefined;
}

/** A thumbprint as IoT Hub stores it: hex of SHA-1 (40) or SHA-256 (64), upper case; ':' and spaces removed. */
export function normalizeThumbprint(text: string): string | undefined {
  const hex = text.replace(/[:\s]/g, '').toUpperCase();
  return /^[0-9A-F]+$/.test(hex) && (hex.length === SHA1_HEX_LENGTH || hex.length === SHA256_HEX_LENGTH) ? hex : undefined;
}

/** A new symmetric key: 32 random bytes, base64, like IoT Hub's. */
export function generateKey(): string {
  return randomBytes(GENERATED_KEY_BYTES).toString('base64');
}

export function generateGenerationId(): string {
  return randomUUID();
}

/**
 * Every problem of a record taken from outside (file, CLI, upstream), as messages naming the
 * field; empty when the record is valid. The record's own fields only: relations to other
 * identities are the registry's to check.
 */
export function recordProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['an identity must be an object'];
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  const known = new Set(['deviceId', 'moduleId', 'status', 'authentication', 'parentDeviceId', 'edge', 'generationId', 'source']);
  for (const key of Object.keys(record)) if (!known.has(key)) problems.push(`unknown field "${key}"`);
  if (typeof record.deviceId !== 'string') problems.push('deviceId must be a string');
  else pushIf(problems, idProblem('device', record.deviceId));
  if (record.moduleId !== undefined) {
    if (typeof record.moduleId !== 'string') problems.push('moduleId must be a string');
    else pushIf(problems, idProblem('module', record.moduleId));
    if (record.parentDeviceId !== undefined) problems.push('a module has no parentDeviceId (its device is its parent)');
    if (record.edge !== undefined) problems.push('"edge" applies to devices only');
  }
  if (record.parentDeviceId !== undefined) {
    if (typeof record.parentDeviceId !== 'string') problems.push('parentDeviceId must be a string');
    else pushIf(problems, idProblem('device', record.parentDeviceId));
    if (record.parentDeviceId === record.deviceId) problems.push('a device cannot be its own parent');
  }
  if (record.edge !== undefined && typeof record.edge !== 'boolean') problems.push('edge must be true or false');
  if (record.status !== 'enabled' && record.status !== 'disabled') problems.push('status must be "enabled" or "disabled"');
  if (typeof record.generationId !== 'string' || record.generationId.length === 0) problems.push('generationId must be a non-empty string');
  if (record.source !== 'local' && record.source !== 'upstream' && record.source !== 'deployment') {
    problems.push('source must be "local", "upstream" or "deployment"');
  }
  problems.push(...authenticationProblems(record.authentication, record.moduleId !== undefined));
  return problems;
}

function authenticationProblems(value: unknown, isModule: boolean): string[] {
  if (typeof value !== 'object' || value === null) return ['authentication must be an object with a type'];
  const auth = value as Record<string, unknown>;
  const allowed: Record<string, readonly string[]> = {
    sas: ['type', 'primaryKey', 'secondaryKey'],
    selfSigned: ['type', 'primaryThumbprint', 'secondaryThumbprint'],
    certificateAuthority: ['type'],
    none: ['type'],
  };
  const fields = typeof auth.type === 'string' ? allowed[auth.type] : undefined;
  if (fields === undefined) return ['authentication.type must be "sas", "selfSigned", "certificateAuthority" or "none"'];
  const problems = Object.keys(auth)
    .filter((key) => !fields.includes(key))
    .map((key) => `authentication.${key} does not apply to type ${String(auth.type)}`);
  if (auth.type === 'sas') {
    for (const name of ['primaryKey', 'secondaryKey'] as const) {
      const key = auth[name];
      if (typeof key !== 'string') problems.push(`authentication.${name} must be a string`);
      else pushIf(problems, keyProblem(`authentication.${name}`, key));
    }
  } else if (auth.type === 'selfSigned') {
    for (const name of ['primaryThumbprint', 'secondaryThumbprint'] as const) {
      const thumbprint = auth[name];
      if (thumbprint === undefined && name === 'secondaryThumbprint') continue;
      if (typeof thumbprint !== 'string' || normalizeThumbprint(thumbprint) !== thumbprint) {
        problems.push(`authentication.${name} must be upper-case hex of SHA-1 (40 digits) or SHA-256 (64 digits)`);
      }
    }
  } else if (auth.type === 'certificateAuthority' && isModule) {
    problems.push('modules authenticate with SAS keys or a self-signed certificate, not a CA (as in IoT Hub)');
  }
  return problems;
}

function pushIf(problems: string[], problem: string | undefined): void {
  if (problem !== undefined) problems.push(problem);
}
