import { Command, Option } from 'commander';
import type { OutpostConfig } from '../config/index.js';
import { OutpostError } from '../errors/index.js';
import {
  buildConnectionString,
  deviceScopeOf,
  formatAuthChain,
  identityChain,
  identityKey,
  IdentityRegistry,
  normalizeThumbprint,
  type IdentityRecord,
  type KeyRotation,
  type NewIdentity,
} from '../hub/auth/index.js';
import { addConfigOptions } from './config-options.js';
import { loadCliConfig } from './load-cli-config.js';

/**
 * `outpost identity …`: the local identity registry (<dataDir>/identities) of devices and modules
 * that may connect to this gateway, offline. Keys appear only where asked for
 * (`connection-string`, `show --show-keys`, the line `add` prints); a running hub picks changes
 * up from the file.
 */
export function identityCommand(program: Command, setExit: (code: number) => void): void {
  const identity = program.command('identity').description('manage the devices and modules that may connect (the local identity registry)');
  const sub = (name: string, description: string): Command => {
    const command = identity.command(name).description(description).exitOverride();
    addConfigOptions(command);
    return command;
  };
  const moduleOption = () => new Option('-m, --module <moduleId>', 'a module of the device instead of the device');

  const add = sub('add', 'add a device, or a module with --module; SAS keys are generated unless given')
    .argument('<deviceId>')
    .addOption(moduleOption())
    .addOption(new Option('--auth <type>', 'how it authenticates').choices(['sas', 'self-signed', 'ca', 'none']).default('sas'))
    .option('--primary-key <base64>', 'SAS primary key (default: 32 random bytes)')
    .option('--secondary-key <base64>', 'SAS secondary key (default: 32 random bytes)')
    .option('--primary-thumbprint <hex>', 'self-signed: SHA-1 or SHA-256 thumbprint of the device certificate')
    .option('--secondary-thumbprint <hex>', 'self-signed: a second thumbprint (for certificate rollover)')
    .option('--parent <edgeDeviceId>', 'devices: the edge device it connects through (default: this edge device, config deviceId)')
    .option('--no-parent', 'devices: no parent edge device')
    .option('--edge', 'devices: an IoT Edge device (may be the parent of other devices)')
    .option('--disabled', 'add it disabled');
  add.action((deviceId: string) => setExit(run(add, (registry, config) => addIdentity(registry, config, deviceId, add.opts()))));

  const list = sub('list', 'list every device and module').option('--json', 'print JSON (keys masked)');
  list.action(() => setExit(run(list, (registry) => listIdentities(registry, list.opts().json === true))));

  const show = sub('show', 'print one identity as JSON (keys masked unless --show-keys)').argument('<deviceId>').addOption(moduleOption()).option('--show-keys', 'include the SAS keys');
  show.action((deviceId: string) =>
    setExit(
      run(show, (registry) => {
        const record = find(registry, deviceId, show.opts().module);
        return `${JSON.stringify(show.opts().showKeys === true ? record : masked(record), null, 2)}\n`;
      }),
    ),
  );

  const remove = sub('remove', 'remove a device (and its modules) or a module').argument('<deviceId>').addOption(moduleOption());
  remove.action((deviceId: string) =>
    setExit(run(remove, (registry) => `removed ${registry.remove(deviceId, remove.opts().module).map((r) => identityKey(r.deviceId, r.moduleId)).join(', ')}\n`)),
  );

  const rotate = sub('rotate-keys', 'regenerate SAS keys; roll over with secondary, move clients, then primary (or swap)')
    .argument('<deviceId>')
    .addOption(moduleOption())
    .addOption(new Option('--key-type <which>', 'which keys to regenerate; swap exchanges primary and secondary').choices(['primary', 'secondary', 'both', 'swap']).makeOptionMandatory());
  rotate.action((deviceId: string) =>
    setExit(
      run(rotate, (registry) => {
        const which = rotate.opts().keyType as KeyRotation;
        const record = registry.rotateKeys(deviceId, rotate.opts().module, which);
        const key = identityKey(record.deviceId, record.moduleId);
        const hint = `outpost identity connection-string ${record.deviceId}${record.moduleId === undefined ? '' : ` --module ${record.moduleId}`}`;
        if (which === 'swap') return `swapped the primary and secondary keys of ${key}; both still work (connection string: ${hint})\n`;
        const what = which === 'both' ? 'primary and secondary keys' : `${which} key`;
        return `regenerated the ${what} of ${key}; clients using a replaced key are refused from now on (new connection string: ${hint})\n`;
      }),
    ),
  );

  const connection = sub('connection-string', 'print the connection string a device or module uses to connect through this gateway')
    .argument('<deviceId>')
    .addOption(moduleOption())
    .addOption(new Option('--key <which>', 'which SAS key to use').choices(['primary', 'secondary']).default('primary'));
  connection.action((deviceId: string) =>
    setExit(
      run(connection, (registry, config) => {
        const record = find(registry, deviceId, connection.opts().module);
        return `${buildConnectionString(record, { iotHubHostname: config.iotHubHostname, gatewayHostname: config.gatewayHostname, key: connection.opts().key })}\n`;
      }),
    ),
  );

  const scope = sub('scope', 'list the device scope of an edge device: the identities below it, with their auth chains (what this gateway serves it; keys masked)')
    .argument('<edgeDeviceId>')
    .option('--json', 'print JSON');
  scope.action((deviceId: string) => setExit(run(scope, (registry) => scopeOf(registry, deviceId, scope.opts().json === true))));

  for (const [name, status] of [['enable', 'enabled'], ['disable', 'disabled']] as const) {
    const command = sub(name, `${name} a device (and so its modules) or a module`).argument('<deviceId>').addOption(moduleOption());
    command.action((deviceId: string) =>
      setExit(run(command, (registry) => `${status} ${identityKey(...ids(registry.setStatus(deviceId, command.opts().module, status)))}\n`)),
    );
  }
}

type Action = (registry: IdentityRegistry, config: OutpostConfig) => string;

/** Loads the configuration and the registry, runs the action, prints, maps errors to exit codes. */
function run(command: Command, action: Action): number {
  const loaded = loadCliConfig(command);
  if (!loaded.ok) {
    process.stderr.write(`error: ${loaded.message}\n`);
    return 2;
  }
  const { config } = loaded.loaded;
  try {
    const registry = IdentityRegistry.open({ dataDir: config.dataDir, edgeDeviceId: config.deviceId });
    process.stdout.write(action(registry, config));
    return 0;
  } catch (error) {
    if (!(error instanceof OutpostError)) throw error;
    process.stderr.write(`error: ${error.code}: ${error.message}\n`);
    return error.kind === 'client' || error.kind === 'config' ? 2 : 1;
  }
}

interface AddOptions {
  module?: string;
  auth: 'sas' | 'self-signed' | 'ca' | 'none';
  primaryKey?: string;
  secondaryKey?: string;
  primaryThumbprint?: string;
  secondaryThumbprint?: string;
  parent?: string | false;
  edge?: boolean;
  disabled?: boolean;
}

function addIdentity(registry: IdentityRegistry, config: OutpostConfig, deviceId: string, options: AddOptions): string {
  const usage = (message: string) => new OutpostError('OUTPOST_IDENTITY_INVALID', message);
  if (options.auth !== 'sas' && (options.primaryKey !== undefined || options.secondaryKey !== undefined)) throw usage('--primary-key and --secondary-key need --auth sas');
  if (options.auth !== 'self-signed' && (options.primaryThumbprint !== undefined || options.secondaryThumbprint !== undefined)) {
    throw usage('--primary-thumbprint and --secondary-thumbprint need --auth self-signed');
  }
  let authentication: NewIdentity['authentication'];
  if (options.auth === 'sas') authentication = { type: 'sas', primaryKey: options.primaryKey, secondaryKey: options.secondaryKey };
  else if (options.auth === 'self-signed') {
    if (options.primaryThumbprint === undefined) throw usage('--auth self-signed needs --primary-thumbprint');
    const primaryThumbprint = normalizeThumbprint(options.primaryThumbprint);
    const secondaryThumbprint = options.secondaryThumbprint === undefined ? undefined : normalizeThumbprint(options.secondaryThumbprint);
    if (primaryThumbprint === undefined || (options.secondaryThumbprint !== undefined && secondaryThumbprint === undefined)) {
      throw usage('a thumbprint must be the hex SHA-1 (40 digits) or SHA-256 (64 digits) of the certificate');
    }
    authentication = { type: 'selfSigned', primaryThumbprint, ...(secondaryThumbprint === undefined ? {} : { secondaryThumbprint }) };
  } else authentication = { type: options.auth === 'ca' ? 'certificateAuthority' : 'none' };
  if (options.module !== undefined && (typeof options.parent === 'string' || options.edge === true)) throw usage('--parent and --edge apply to devices, not modules');

  const record = registry.add({
    deviceId,
    ...(options.module === undefined ? {} : { moduleId: options.module }),
    authentication: authentication as NewIdentity['authentication'],
    ...(options.parent === false ? { parentDeviceId: null } : typeof options.parent === 'string' ? { parentDeviceId: options.parent } : {}),
    ...(options.edge === true ? { edge: true } : {}),
    status: options.disabled === true ? 'disabled' : 'enabled',
  });
  const lines = [`added ${record.moduleId === undefined ? 'device' : 'module'} ${identityKey(record.deviceId, record.moduleId)} (${record.authentication.type}${record.parentDeviceId === undefined ? '' : `, parent ${record.parentDeviceId}`})`];
  if (record.authentication.type !== 'none') {
    lines.push(`connection string: ${buildConnectionString(record, { iotHubHostname: config.iotHubHostname, gatewayHostname: config.gatewayHostname })}`);
  }
  // An edge device comes with its system modules, as IoT Hub makes them: their twins carry its
  // deployment from above (`outpost deploy --device`), and its agent and hub report through them.
  if (record.edge === true && record.moduleId === undefined) {
    for (const moduleId of SYSTEM_MODULES) {
      if (registry.get(deviceId, moduleId) !== undefined) continue;
      registry.add({ deviceId, moduleId });
      lines.push(`added module ${identityKey(deviceId, moduleId)} (sas)`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The modules IoT Hub creates with every edge device. */
const SYSTEM_MODULES = ['$edgeAgent', '$edgeHub'] as const;

function listIdentities(registry: IdentityRegistry, json: boolean): string {
  const records = registry.list();
  if (json) return `${JSON.stringify(records.map(masked), null, 2)}\n`;
  if (records.length === 0) return `no identities in ${registry.file}\n`;
  const rows = [['ID', 'KIND', 'AUTH', 'STATUS', 'PARENT', 'SOURCE']];
  for (const r of records) {
    rows.push([identityKey(r.deviceId, r.moduleId), r.moduleId !== undefined ? 'module' : r.edge === true ? 'edge device' : 'device', r.authentication.type, r.status, r.parentDeviceId ?? '-', r.source]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return `${rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')}\n`;
}

/** The identities an edge device's scope holds here, each with its chain up to this gateway (no keys). */
function scopeOf(registry: IdentityRegistry, edgeDeviceId: string, json: boolean): string {
  if (find(registry, edgeDeviceId, undefined).edge !== true) throw new OutpostError('OUTPOST_IDENTITY_INVALID', `${edgeDeviceId} is not an edge device (add edge devices with --edge)`);
  const scope = deviceScopeOf(registry, edgeDeviceId);
  const entries = [...scope.devices.map((d) => ({ deviceId: d.deviceId, moduleId: undefined as string | undefined, status: d.status, auth: d.authentication.type })), ...scope.modules.map((m) => ({ deviceId: m.deviceId, moduleId: m.moduleId as string | undefined, status: m.status, auth: m.authentication.type }))];
  const rows = entries
    .map((e) => ({ id: identityKey(e.deviceId, e.moduleId), auth: e.auth, status: e.status, authChain: formatAuthChain(identityChain(registry, e.deviceId, e.moduleId) ?? []) }))
    .sort((a, b) => a.id.localeCompare(b.id));
  if (json) return `${JSON.stringify(rows, null, 2)}
`;
  const table = [['ID', 'AUTH', 'STATUS', 'AUTH CHAIN'], ...rows.map((r) => [r.id, r.auth, r.status, r.authChain])];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  return `${table.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')}\n`;
}

function find(registry: IdentityRegistry, deviceId: string, moduleId: string | undefined): IdentityRecord {
  const record = registry.get(deviceId, moduleId);
  if (record === undefined) throw new OutpostError('OUTPOST_IDENTITY_NOT_FOUND', `${identityKey(deviceId, moduleId)} is not in the identity registry (${registry.file})`);
  return record;
}

function masked(record: IdentityRecord): IdentityRecord {
  const auth = record.authentication;
  return auth.type === 'sas' ? { ...record, authentication: { type: 'sas', primaryKey: '***', secondaryKey: '***' } } : record;
}

function ids(record: IdentityRecord): [string, string?] {
  return record.moduleId === undefined ? [record.deviceId] : [record.deviceId, record.moduleId];
}
