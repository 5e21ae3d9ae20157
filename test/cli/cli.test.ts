import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runOutpost, tempDir } from '../helpers/outpost-process.js';

const dir = tempDir('outpost-cli-');
after(() => dir.remove());
const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('outpost CLI', () => {
  it('prints help for the program and for every command, exit 0', async () => {
    const top = await runOutpost(['--help']);
    assert.equal(top.code, 0);
    for (const command of ['run', 'hub', 'agent', 'check', 'version']) assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
    for (const command of ['run', 'hub', 'agent', 'check', 'version']) {
      const help = await runOutpost([command, '--help']);
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`Usage: outpost ${command}`));
    }
    const run = await runOutpost(['run', '--help']);
    for (const flag of ['--data-dir', '--mqtt-port', '--amqp-port', '--https-port', '--mqtt-plain-port', '--config', '--set']) {
      assert.ok(run.stdout.includes(flag), flag);
    }
    assert.match(run.stdout, /OUTPOST_MQTT__PORT/);
  });

  it('prints the version', async () => {
    const result = await runOutpost(['version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), `outpost ${version} (node ${process.version})`);
    assert.equal((await runOutpost(['--version'])).stdout.trim(), version);
  });

  it('exits 2 on an unknown command or option', async () => {
    const unknown = await runOutpost(['launch']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'launch'/);
    const option = await runOutpost(['run', '--mqtt-prot', '1']);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option '--mqtt-prot'/);
  });
});

describe('outpost check', () => {
  it('accepts the embedded default and says so', async () => {
    const result = await runOutpost(['check', '--data-dir', dir.path]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /configuration: ok/);
    assert.match(result.stdout, /deployment: ok .*default\.json/);
  });

  it('prints every problem of the configuration and the deployment at once, exit 2', async () => {
    const configFile = join(dir.path, 'bad.yaml');
    writeFileSync(configFile, 'mqtt:\n  port: 99999\nhttps:\n  enabled: maybe\n');
    const manifest = join(dir.path, 'bad-deployment.json');
    writeFileSync(manifest, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '2.0' } } } }));
    const result = await runOutpost(['check', '--config', configFile, '--deployment', manifest], {
      env: { OUTPOST_AMQP__PORT: 'five', OUTPOST_BOGUS: '1' },
    });
    assert.equal(result.code, 2);
    const err = result.stderr;
    assert.match(err, /configuration: 4 problem\(s\)/);
    assert.match(err, /mqtt\.port: expected an integer from 0 to 65535, got 99999 \[config file .*bad\.yaml\]/);
    assert.match(err, /https\.enabled: expected true or false, got "maybe" \[config file/);
    assert.match(err, /amqp\.port: .*\[environment variable OUTPOST_AMQP__PORT\]/);
    assert.match(err, /unknown environment variable .*OUTPOST_BOGUS/);
    assert.match(err, /deployment: 4 problem\(s\)/);
    assert.match(err, /schemaVersion: unsupported schema version "2\.0"/);
    assert.match(err, /\$edgeHub\['properties\.desired'\]: required object is missing/);
  });

  it('--print shows each effective value and its source', async () => {
    const result = await runOutpost(['check', '--print', '--data-dir', dir.path, '--set', 'mqtt.connectTimeout=5s'], {
      env: { MaxConnectedClients: '42' },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /mqtt\.connectTimeout = 5000 {2}\(flag --set mqtt\.connectTimeout\)/);
    assert.match(result.stdout, /maxConnectedClients = 42 {2}\(environment variable MaxConnectedClients\)/);
    assert.match(result.stdout, /amqp\.port = 5671 {2}\(default\)/);
  });

  it('reports a deployment manifest that is not JSON with its line and column', async () => {
    const manifest = join(dir.path, 'broken.json');
    writeFileSync(manifest, '{\n  "modulesContent": {\n    "$edgeAgent": ,\n  }\n}\n');
    const result = await runOutpost(['check', '--data-dir', dir.path, '--deployment', manifest]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /not valid JSON: .* at line 3, column \d+/);
  });
});

describe('refusing a bad configuration at start', () => {
  it('exits 2 before binding anything, with every problem on stderr', async () => {
    const result = await runOutpost(['run', '--data-dir', dir.path, '--mqtt-port', 'eighty'], { env: { OUTPOST_LOG_LEVL: 'debug' } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /configuration is invalid \(2 problems\)/);
    assert.match(result.stderr, /mqtt\.port: expected an integer .* \[flag --mqtt-port\]/);
    assert.match(result.stderr, /did you mean OUTPOST_LOG_LEVEL\?/);
    assert.equal(result.lines.filter((l) => l.event === 'hub.ready').length, 0);
  });

  it('exits 2 when the deployment manifest is invalid', async () => {
    const manifest = join(dir.path, 'no-hub.json');
    writeFileSync(manifest, JSON.stringify({ modulesContent: {} }));
    const result = await runOutpost(['agent', '--data-dir', dir.path, '--deployment', manifest]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /deployment manifest .*no-hub\.json is invalid/);
    assert.match(result.stderr, /OUTPOST_DEPLOYMENT_INVALID/);
  });
});
