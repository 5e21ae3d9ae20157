/**
 * Issue 19: `outpost support-bundle` writes one tar.gz with the hub, agent and module logs, the
 * configuration and deployment, status, metrics, store statistics and versions — and no secret.
 * The setup has real ones: generated SAS keys of a device and a module (also in the agent's
 * identities), a registry password and a token in the deployment, a module that prints its
 * connection string, a SAS token and the hub's private key, and a hub log with a token in it. The
 * archive is extracted with the system's tar and every file is searched for each secret.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, spawnOutpost, startHub, testScope, type OutpostProcess } from '../helpers/outpost-process.js';

const scope = testScope('outpost-support-bundle-', after);
const REGISTRY_PASSWORD = 'Registry-Passw0rd-7f3a91';
const MODULE_TOKEN = 'module-token-c41d9e27b8';
const SIGNATURE = 'q9Xv2Lr8Tt0Wm5Kp1Ny4Zs7Bc3Dh6Fj%3D';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The base64 lines of a PEM file's body: any of them in the bundle is part of the key. */
function pemBodyLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));
}

describe('outpost support-bundle', () => {
  let dir: string;
  let data: string;
  let outpost: OutpostProcess;
  const secrets: string[] = [REGISTRY_PASSWORD, MODULE_TOKEN, SIGNATURE];
  before(async () => {
    dir = scope.newDir();
    data = join(dir, 'data');
    mkdirSync(data);
    const added = await runOutpost(['identity', 'add', 'dev1', '--data-dir', data]);
    assert.equal(added.code, 0, added.stderr);
    const addedModule = await runOutpost(['identity', 'add', 'dev1', '--module', 'mod1', '--data-dir', data]);
    assert.equal(addedModule.code, 0, addedModule.stderr);
    const connection = (await runOutpost(['identity', 'connection-string', 'dev1', '--data-dir', data])).stdout.trim();
    const deviceKey = /SharedAccessKey=([^;]+)/.exec(connection)![1]!;
    // Every key the registry holds (primary and secondary, device and module).
    for (const file of filesUnder(join(data, 'identities'))) secrets.push(...(readFileSync(file, 'utf8').match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? []));
    assert.ok(secrets.includes(deviceKey), 'the connection string key is one of the registry keys');

    const manifest = JSON.parse(hubManifest({ up: 'FROM /messages/* INTO $upstream' })) as { modulesContent: { $edgeAgent: { 'properties.desired': Record<string, any> } } };
    const agent = manifest.modulesContent.$edgeAgent['properties.desired'];
    agent.runtime.settings = { registryCredentials: { acr: { username: 'registry-user', password: REGISTRY_PASSWORD, address: 'example.azurecr.io' } } };
    const script = [
      'echo "connecting with $UPSTREAM"',
      `echo "token: SharedAccessSignature sr=outpost.local%2Fdevices%2Fdev1&sig=${SIGNATURE}&se=1893456000"`,
      'echo "raw key $KEY"',
      `cat ${join(data, 'certs', 'server.key.pem')}`,
      'echo "chatty done"',
      'exec sleep 600',
    ].join('; ');
    agent.modules = {
      chatty: {
        version: '1.0',
        type: 'process',
        status: 'running',
        restartPolicy: 'never',
        env: { SECRET_TOKEN: { value: MODULE_TOKEN }, UPSTREAM: { value: connection }, KEY: { value: deviceKey } },
        settings: { process: { command: '/bin/sh', args: ['-c', script] } },
      },
    };
    writeFileSync(join(dir, 'deployment.json'), JSON.stringify(manifest));
    ({ outpost } = await startHub({ command: 'run', dataDir: data, args: ['--deployment', join(dir, 'deployment.json')], timeoutMs: 60_000 }));
    scope.trackGraceful(outpost);
    await outpost.waitFor((line) => line.event === 'agent.module_started' && line.module === 'chatty', 60_000);
    // The private keys exist now (the hub generated them): their bodies are secrets too.
    secrets.push(...pemBodyLines(join(data, 'certs', 'server.key.pem')), ...pemBodyLines(join(data, 'certs', 'dev-ca.key.pem')));
    // Wait for the module's last line, following its log as an operator would.
    const follower = spawnOutpost(['logs', 'chatty', '--follow', '--data-dir', data]);
    scope.track(follower);
    await follower.waitFor((line) => line.event === 'non-json' && line.msg === 'chatty done', 60_000);
    follower.child.kill('SIGINT');
    await follower.exited();
  });

  it('holds logs, redacted configuration and deployment, status, metrics, store stats and versions, and no secret', async () => {
    // The hub and agent log as a service's standard output would hold it, with a leaked token in one line.
    const hubLog = join(dir, 'outpost.log');
    writeFileSync(hubLog, `${outpost.lines.map((line) => JSON.stringify(line)).join('\n')}\n${JSON.stringify({ level: 40, time: Date.now(), event: 'test.leak', note: `Authorization: SharedAccessSignature sr=x&sig=${SIGNATURE}&se=1` })}\n`);
    const archive = join(dir, 'bundle.tar.gz');
    const result = await runOutpost(['support-bundle', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), '--output', archive, '--log-file', hubLog, '--journal-unit', ''], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^wrote ${archive.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(\\d+ bytes, \\d+ files, secrets redacted\\)\\n$`));

    const out = join(dir, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    const [root] = readdirSync(out);
    assert.match(root!, /^outpost-support-\d{8}T\d{6}$/);
    const base = join(out, root!);
    const read = (file: string) => readFileSync(join(base, file), 'utf8');
    const files = filesUnder(base).map((file) => file.slice(base.length + 1)).sort();
    for (const expected of ['bundle.json', 'check.json', 'config/effective.json', 'config/origins.json', 'desired/configured.json', 'logs/modules/chatty.log', 'logs/outpost/outpost.log', 'metrics.txt', 'status/hub.json', 'status/reported.json', 'store-stats.json', 'versions.json']) {
      assert.ok(files.includes(expected), `${expected} in ${files.join(', ')}`);
    }

    // No secret anywhere, in any file.
    for (const file of files) {
      const text = read(file);
      for (const secret of secrets) assert.ok(!text.includes(secret), `${file} holds a secret (${secret.slice(0, 6)}…)`);
      assert.doesNotMatch(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, `${file} holds a private key`);
    }

    // What was redacted is still recognisable, and the rest is there.
    const moduleLog = read('logs/modules/chatty.log');
    assert.match(moduleLog, /connecting with HostName=[^;]+;DeviceId=dev1;SharedAccessKey=\[REDACTED\]/);
    assert.match(moduleLog, /SharedAccessSignature \[REDACTED\]/);
    assert.match(moduleLog, /raw key \[REDACTED\]/);
    assert.match(moduleLog, /\[REDACTED PRIVATE KEY\]/);
    assert.match(moduleLog, /chatty done/);
    const deployment = JSON.parse(read('desired/configured.json'));
    const desired = deployment.modulesContent.$edgeAgent['properties.desired'];
    assert.deepEqual(desired.runtime.settings.registryCredentials.acr, { username: 'registry-user', password: '[REDACTED]', address: 'example.azurecr.io' });
    assert.equal(desired.modules.chatty.env.SECRET_TOKEN.value, '[REDACTED]');
    assert.match(desired.modules.chatty.env.UPSTREAM.value, /;DeviceId=dev1;SharedAccessKey=\[REDACTED\](;|$)/);
    assert.match(read('logs/outpost/outpost.log'), /"event":"hub\.ready"/);
    assert.match(read('logs/outpost/outpost.log'), /SharedAccessSignature \[REDACTED\]/);
    assert.match(read('metrics.txt'), /^# HELP edge(Hub|Agent)_/m);
    assert.equal(JSON.parse(read('status/reported.json')).modules.chatty.runtimeStatus, 'running');
    assert.equal(JSON.parse(read('status/hub.json')).pid, outpost.child.pid);
    assert.ok(Array.isArray(JSON.parse(read('store-stats.json')).shards));
    const versions = JSON.parse(read('versions.json'));
    assert.equal(versions.outpost, versions.hub);
    assert.equal(versions.node.node, process.versions.node);
    assert.ok(JSON.parse(read('check.json')).checks.some((c: { id: string }) => c.id === 'hub-ports'));
    assert.equal(JSON.parse(read('config/effective.json')).dataDir, data);
    const index = JSON.parse(read('bundle.json'));
    assert.ok(index.files.some((f: { file: string }) => f.file === 'logs/modules/chatty.log'));
  });

  it('keeps only the log lines of the --since/--until window', async () => {
    const hubLog = join(dir, 'windowed.log');
    const at = (iso: string, event: string) => JSON.stringify({ level: 30, time: Date.parse(iso), event });
    writeFileSync(hubLog, [at('2026-03-01T09:00:00Z', 'before'), at('2026-03-01T10:30:00Z', 'inside'), at('2026-03-01T12:00:00Z', 'after')].join('\n') + '\n');
    const archive = join(dir, 'windowed.tar.gz');
    const result = await runOutpost(['support-bundle', '--data-dir', data, '--deployment', join(dir, 'deployment.json'), '-o', archive, '--log-file', hubLog, '--journal-unit', '', '--since', '2026-03-01T10:00:00Z', '--until', '2026-03-01T11:00:00Z'], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    const listing = execFileSync('tar', ['-xzOf', archive, '--wildcards', '*/logs/outpost/windowed.log'], { encoding: 'utf8' });
    assert.equal(listing, `${at('2026-03-01T10:30:00Z', 'inside')}\n`);
    const index = JSON.parse(execFileSync('tar', ['-xzOf', archive, '--wildcards', '*/bundle.json'], { encoding: 'utf8' }));
    assert.deepEqual(index.window, { since: '2026-03-01T10:00:00.000Z', until: '2026-03-01T11:00:00.000Z' });
  });
});
