/**
 * Production install (issue 15): the packed tarball installed with `npm install -g --omit=dev` into
 * a fresh prefix runs `outpost run`; the systemd unit verifies and its ExecStart runs as the unit
 * says (unprivileged user, its capability, file limit, environment and working directory). One pack
 * and one install serve every test (the install is the slow part). The container image:
 * container-image.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnOutpost, stopQuietly, type HubPorts, type OutpostProcess } from '../helpers/outpost-process.js';
import { installedPackages, packAndInstall, REPO_ROOT, tarballFiles, type PackedInstall } from './install-tarball.js';
import { readServiceSection, setprivCaps, unitEnvironment } from './systemd-unit.js';

const UNIT_FILE = join(REPO_ROOT, 'packaging', 'outpost.service');
/** Stand-in for the unit's system user, which this machine does not have: any unprivileged uid. */
const NOBODY = 65534;

let install: PackedInstall;
const running: OutpostProcess[] = [];
before(() => {
  install = packAndInstall();
}, { timeout: 100_000 });
after(async () => {
  await Promise.all(running.map(stopQuietly));
  install?.remove();
});

function newDir(name: string, uid = 0): string {
  const dir = join(install.dir, name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chownSync(dir, uid, uid);
  return dir;
}

/** Environment of a service: nothing inherited but PATH (systemd gives a fixed PATH, not the caller's). */
function serviceEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...extra };
}

async function stopGracefully(outpost: OutpostProcess, timeoutMs = 30_000): Promise<number | string> {
  outpost.child.kill('SIGTERM');
  return outpost.exited(timeoutMs);
}

describe('packed tarball, --omit=dev', () => {
  it('holds the compiled runtime only, and installs without dev dependencies or the sample modules', () => {
    const files = tarballFiles(install.tarball);
    assert.ok(files.includes('package/dist/src/cli/main.js'), 'the CLI is compiled into the tarball');
    assert.ok(files.includes('package/dist/workers/shard-worker.js'));
    assert.ok(files.includes('package/deployment/gateway.json'));
    assert.ok(files.includes('package/scripts/build-native.js'), 'the install script is packed');
    assert.ok(files.includes('package/assets/dashboard/app.js'), 'the dashboard\'s files are packed');
    const strays = files.filter((file) => /^package\/(dist\/(test|bench|scripts|modules)\/|modules\/|src\/|test\/)|\.map$/.test(file));
    assert.deepEqual(strays, [], 'no tests, benchmarks, sources, source maps or sample modules in the tarball');
    const packages = installedPackages(install.packageDir);
    // mqtt (mqtt.js) is a runtime dependency since the MQTT bridge (docs/bridge.md), loaded only when a bridge runs.
    for (const absent of ['typescript', 'aedes', 'azure-iot-device', 'azure-iot-device-mqtt', 'azure-iot-common', 'outpost-sample-modules']) {
      assert.ok(!packages.includes(absent), `${absent} is not installed with the runtime`);
    }
    for (const present of ['rocksdb-native', 'pino', 'piscina', 'mqtt-packet']) assert.ok(packages.includes(present), `${present} is installed`);
    // The install script built the native addon from the packed sources.
    assert.ok(existsSync(join(install.packageDir, 'native', 'build', 'Release', 'outpost_native.node')), 'native addon built on install');
  });

  it('`outpost run` from the installed package reaches hub.ready on port 0 and stops on SIGTERM', async () => {
    const dataDir = newDir('run-data');
    const outpost = spawnOutpost(['run', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0'], {
      command: [install.bin],
      cwd: install.dir,
      env: serviceEnv({}),
    });
    running.push(outpost);
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', 60_000);
    const ports = ready.ports as HubPorts;
    assert.ok(typeof ports.mqtt === 'number' && ports.mqtt > 0);
    // The code that ran is the installed copy, not the repository's.
    const started = await outpost.waitFor((line) => line.event === 'agent.ready');
    assert.ok(String(started.deployment).startsWith(install.packageDir), String(started.deployment));
    assert.equal(await stopGracefully(outpost), 0);
    assert.ok(outpost.lines.some((line) => line.event === 'runtime.stopped'));
  });
});

describe('systemd unit (packaging/outpost.service)', () => {
  it('passes systemd-analyze verify, with the hardening the issue asks for', () => {
    const service = readServiceSection(UNIT_FILE);
    assert.equal(service.get('User'), 'outpost');
    assert.equal(service.get('StateDirectory'), 'outpost');
    assert.equal(service.get('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
    assert.equal(service.get('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
    assert.equal(service.get('Restart'), 'on-failure');
    assert.equal(service.get('NoNewPrivileges'), 'yes');
    assert.ok(Number(service.get('LimitNOFILE')) >= 20_000, 'room for maxConnectedClients (10000) and RocksDB');
    // verify checks that ExecStart's program exists: point it at this test's install.
    const unit = join(newDir('unit'), 'outpost.service');
    writeFileSync(unit, readFileSync(UNIT_FILE, 'utf8').replace(/^ExecStart=\/usr\/local\/bin\/outpost /m, `ExecStart=${install.bin} `));
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(verify.status, 0, `systemd-analyze verify: ${verify.stderr}`);
    assert.equal(verify.stderr.trim(), '', 'no warnings');
  });

  it("runs ExecStart as the unit's user would: unprivileged, binding a port below 1024, with its file limit and environment", async () => {
    const service = readServiceSection(UNIT_FILE);
    const [program, ...args] = service.get('ExecStart')!.split(/\s+/);
    assert.equal(program, '/usr/local/bin/outpost');
    const env = unitEnvironment(service);
    // The unit's paths, mapped into this test's folders: StateDirectory → a data folder owned by
    // the user, ConfigurationDirectory → a folder with the gateway manifest installed as documented.
    const stateDir = newDir('state', NOBODY);
    const configDir = newDir('config');
    assert.equal(env.OUTPOST_DATA_DIR, `/var/lib/${service.get('StateDirectory')}`);
    assert.equal(service.get('WorkingDirectory'), env.OUTPOST_DATA_DIR);
    assert.equal(env.OUTPOST_AGENT__DEPLOYMENT, `/etc/${service.get('ConfigurationDirectory')}/deployment.json`);
    copyFileSync(join(install.packageDir, 'deployment', 'gateway.json'), join(configDir, 'deployment.json'));
    const httpsPort = await freePrivilegedPort();
    const caps = setprivCaps(service.get('AmbientCapabilities'));
    // systemd sets the limit before it drops privileges; this sandbox's hard limit (no
    // CAP_SYS_RESOURCE) may be lower than the unit's, and then caps it.
    const limit = String(Math.min(Number(service.get('LimitNOFILE')), hardFileLimit()));
    const outpost = spawnOutpost(args, {
      command: [
        'prlimit', `--nofile=${limit}:${limit}`, '--',
        'setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups',
        ...(caps.length > 0 ? [`--inh-caps=${caps.map((c) => `+${c}`).join(',')}`, `--ambient-caps=${caps.map((c) => `+${c}`).join(',')}`] : []),
        ...(service.get('NoNewPrivileges') === 'yes' ? ['--no-new-privs'] : []),
        install.bin,
      ],
      cwd: stateDir,
      env: serviceEnv({
        ...env,
        OUTPOST_DATA_DIR: stateDir,
        OUTPOST_AGENT__DEPLOYMENT: join(configDir, 'deployment.json'),
        // Fixed ports would collide with other tests: MQTT and AMQP on free ports, HTTPS on a free
        // port below 1024, which only the unit's capability allows.
        OUTPOST_MQTT__PORT: '0',
        OUTPOST_AMQP__PORT: '0',
        OUTPOST_HTTPS__PORT: String(httpsPort),
      }),
    });
    running.push(outpost);
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', 60_000);
    assert.equal((ready.ports as HubPorts).https, httpsPort);
    const status = readFileSync(`/proc/${outpost.child.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'));
    assert.match(readFileSync(`/proc/${outpost.child.pid}/limits`, 'utf8'), new RegExp(`Max open files\\s+${limit}\\s+${limit}`));
    assert.ok(existsSync(join(stateDir, 'store', 'store.json')), 'the store is in the state directory');
    const stopMs = parseSeconds(service.get('TimeoutStopSec')!);
    assert.equal(await stopGracefully(outpost, stopMs), 0, `stopped by ${service.get('KillSignal')} within TimeoutStopSec`);
  });
});

/** A port below 1024 that is free now (probed by binding it as root; other tests use port 0). */
async function freePrivilegedPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 600 + Math.floor(Math.random() * 400);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 1024');
}

function hardFileLimit(): number {
  const text = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return text === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(text);
}

function parseSeconds(text: string): number {
  const match = /^(\d+)s?$/.exec(text);
  if (match === null) throw new Error(`unexpected TimeoutStopSec ${text}`);
  return Number(match[1]) * 1000;
}
