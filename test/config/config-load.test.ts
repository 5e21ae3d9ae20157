import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, type ConfigProblem } from '../../src/config/index.js';
import { OutpostError } from '../../src/errors/index.js';
import { tempDir } from '../helpers/outpost-process.js';

const dir = tempDir('outpost-config-');
after(() => dir.remove());

function file(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof OutpostError, 'expected an OutpostError');
    assert.equal(error.code, 'OUTPOST_CONFIG_INVALID');
    return error.details?.problems as ConfigProblem[];
  }
  assert.fail('expected loadConfig to throw');
}

describe('configuration precedence', () => {
  // Issue 15: `npm start` failed for a non-root user, or wherever 443 was taken.
  it('binds no privileged port by default, so a new user can start it; production sets 443 explicitly', () => {
    const { config } = loadConfig({ env: {}, cwd: dir.path, hostname: 'gw1' });
    for (const [name, port] of [['mqtt', config.mqtt.port], ['amqp', config.amqp.port], ['https', config.https.port]] as const) {
      assert.ok(port >= 1024, `${name} listens on ${port} by default, which needs root`);
    }
    const production = loadConfig({ env: { HttpSettings__Port: '443' }, cwd: dir.path, hostname: 'gw1' });
    assert.equal(production.config.https.port, 443);
  });

  it('uses the defaults when nothing is set', () => {
    const { config, origins } = loadConfig({ env: {}, cwd: dir.path, hostname: 'gw1' });
    assert.equal(config.mqtt.port, 8883);
    assert.equal(config.amqp.port, 5671);
    assert.equal(config.https.port, 8443);
    assert.equal(config.mqttPlain.enabled, false);
    assert.equal(config.mqttPlain.host, '127.0.0.1');
    assert.equal(config.dataDir, join(dir.path, 'data'));
    assert.equal(config.store.dir, join(dir.path, 'data', 'store'));
    assert.equal(config.gatewayHostname, 'gw1');
    assert.deepEqual(config.tls.protocols, ['tls1.2', 'tls1.3']);
    assert.equal(config.mqtt.connectTimeout, 60_000);
    assert.equal(origins.get('mqtt.port')?.source, 'default');
  });

  it('file < environment < flags, each value from the highest source that sets it', () => {
    const configFile = file('precedence.yaml', 'mqtt:\n  port: 1001\namqp:\n  port: 1002\nhttps:\n  port: 1003\nlogLevel: debug\n');
    const { config, origins } = loadConfig({
      cwd: dir.path,
      configFile,
      env: { OUTPOST_AMQP__PORT: '2002', OUTPOST_HTTPS__PORT: '2003' },
      flags: [{ flag: '--https-port', path: 'https.port', text: '3003' }],
    });
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.mqtt.port, 1001);
    assert.equal(config.amqp.port, 2002);
    assert.equal(config.https.port, 3003);
    assert.deepEqual(origins.get('mqtt.port'), { source: 'file', origin: configFile });
    assert.deepEqual(origins.get('amqp.port'), { source: 'env', origin: 'OUTPOST_AMQP__PORT' });
    assert.deepEqual(origins.get('https.port'), { source: 'flag', origin: '--https-port' });
  });

  it('reads the file named by OUTPOST_CONFIG, JSON as well as YAML', () => {
    const configFile = file('c.json', JSON.stringify({ mqtt: { port: 4001 }, store: { maxSize: '1GiB' } }));
    const { config } = loadConfig({ cwd: dir.path, env: { OUTPOST_CONFIG: configFile } });
    assert.equal(config.mqtt.port, 4001);
    assert.equal(config.store.maxSize, 1024 ** 3);
  });

  it('resolves relative paths against the config file directory, or the working directory', () => {
    const configFile = file('paths.yaml', 'dataDir: state\n');
    assert.equal(loadConfig({ cwd: '/', configFile, env: {} }).config.dataDir, join(dir.path, 'state'));
    assert.equal(loadConfig({ cwd: '/srv', env: { OUTPOST_DATA_DIR: 'x' } }).config.dataDir, '/srv/x');
  });

  it('setting the plain MQTT port turns the plain listener on unless it is set explicitly', () => {
    const implied = loadConfig({ env: {}, flags: [{ flag: '--mqtt-plain-port', path: 'mqttPlain.port', text: '0' }] });
    assert.equal(implied.config.mqttPlain.enabled, true);
    assert.equal(implied.config.mqttPlain.port, 0);
    const explicit = loadConfig({ env: { OUTPOST_MQTT_PLAIN__ENABLED: 'false' }, flags: [{ flag: '--mqtt-plain-port', path: 'mqttPlain.port', text: '0' }] });
    assert.equal(explicit.config.mqttPlain.enabled, false);
  });
});

describe('Azure IoT Edge aliases', () => {
  it('accepts the edge hub variable names, case-insensitively, with their value formats', () => {
    const { config, origins } = loadConfig({
      env: {
        MqttSettings__Enabled: 'false',
        amqpsettings__enabled: 'False',
        HttpSettings__Enabled: 'false',
        AmqpSettings__Port: '25671',
        MaxUpstreamBatchSize: '50',
        UpstreamFanOutFactor: '4',
        MessageCleanupIntervalSecs: '1800',
        StorageFolder: '/var/lib/edge-store',
        UsePersistentStorage: 'false',
        RuntimeLogLevel: 'Warning',
        SslProtocols: 'Tls13',
        MaxConnectedClients: '250',
        MqttSettings__ConnectArrivalTimeout: '00:00:45',
        ShutdownWaitPeriod: '20',
        EdgeDeviceHostName: 'gateway.example',
        IOTEDGE_IOTHUBHOSTNAME: 'myhub.azure-devices.net',
        IOTEDGE_DEVICEID: 'edge-7',
      },
    });
    assert.equal(config.mqtt.enabled, false);
    assert.equal(config.amqp.enabled, false);
    assert.equal(config.https.enabled, false);
    assert.equal(config.amqp.port, 25671);
    assert.equal(config.upstream.maxBatchSize, 50);
    assert.equal(config.upstream.fanOutFactor, 4);
    assert.equal(config.store.cleanupInterval, 1_800_000);
    assert.equal(config.store.dir, '/var/lib/edge-store');
    assert.equal(config.store.persistent, false);
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.tls.protocols, ['tls1.3']);
    assert.equal(config.maxConnectedClients, 250);
    assert.equal(config.mqtt.connectTimeout, 45_000);
    assert.equal(config.shutdownTimeout, 20_000);
    assert.equal(config.gatewayHostname, 'gateway.example');
    assert.equal(config.iotHubHostname, 'myhub.azure-devices.net');
    assert.equal(config.deviceId, 'edge-7');
    assert.deepEqual(origins.get('mqtt.enabled'), { source: 'env', origin: 'MqttSettings__Enabled' });
  });

  it('lets an OUTPOST_ variable win over an alias for the same key, with a warning', () => {
    const { config, warnings } = loadConfig({ env: { MaxConnectedClients: '5', OUTPOST_MAX_CONNECTED_CLIENTS: '7' } });
    assert.equal(config.maxConnectedClients, 7);
    assert.ok(warnings.some((w) => w.includes('MaxConnectedClients') && w.includes('OUTPOST_MAX_CONNECTED_CLIENTS')));
  });

  it('warns about Azure variables that have no effect here, and ignores unrelated variables', () => {
    const { warnings } = loadConfig({ env: { OptimizeForPerformance: 'false', PATH: '/bin', HOME: '/root' } });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /OptimizeForPerformance has no effect/);
  });

  it('rejects TLS versions older than 1.2 given through SslProtocols', () => {
    const problems = problemsOf(() => loadConfig({ env: { SslProtocols: 'Tls11,Tls12' } }));
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.path, 'tls.protocols');
    assert.equal(problems[0]!.origin, 'SslProtocols');
  });
});

describe('configuration errors', () => {
  it('reports every problem at once, each with its source and path', () => {
    const configFile = file('bad.yaml', 'mqtt:\n  port: 70000\n  prot: 1\nstore:\n  maxSize: lots\n');
    const problems = problemsOf(() =>
      loadConfig({
        configFile,
        env: { OUTPOST_AMQP__PORT: 'abc', OUTPOST_MQTT_PORT: '1', OUTPOST_LOG_LEVEL: 'loud' },
        flags: [
          { flag: '--https-port', path: 'https.port', text: '-1' },
          { flag: '--set shutdownTimeout', path: 'shutdownTimeout', text: '10 parsecs' },
        ],
      }),
    );
    const summary = problems.map((p) => `${p.path}|${p.source}|${p.origin}|${p.code}`).sort();
    const expected = [
      `|env|OUTPOST_MQTT_PORT|OUTPOST_CONFIG_UNKNOWN_KEY`,
      `amqp.port|env|OUTPOST_AMQP__PORT|OUTPOST_CONFIG_INVALID`,
      `https.port|flag|--https-port|OUTPOST_CONFIG_INVALID`,
      `logLevel|env|OUTPOST_LOG_LEVEL|OUTPOST_CONFIG_INVALID`,
      `mqtt.port|file|${configFile}|OUTPOST_CONFIG_INVALID`,
      `mqtt.prot|file|${configFile}|OUTPOST_CONFIG_UNKNOWN_KEY`,
      `shutdownTimeout|flag|--set shutdownTimeout|OUTPOST_CONFIG_INVALID`,
      `store.maxSize|file|${configFile}|OUTPOST_CONFIG_INVALID`,
    ];
    assert.deepEqual(summary, expected.sort());
    const unknownEnv = problems.find((p) => p.origin === 'OUTPOST_MQTT_PORT');
    assert.match(unknownEnv!.message, /did you mean OUTPOST_MQTT__PORT/);
    assert.match(problems.find((p) => p.path === 'mqtt.prot')!.message, /did you mean "mqtt.port"/);
    assert.match(problems.find((p) => p.path === 'mqtt.port')!.message, /integer from 0 to 65535, got 70000/);
  });

  it('puts every problem in the error message', () => {
    try {
      loadConfig({ env: { OUTPOST_MQTT__PORT: 'x', OUTPOST_NOPE: '1' } });
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(error instanceof OutpostError);
      assert.match(error.message, /2 problems/);
      assert.match(error.message, /mqtt\.port: expected an integer .* \[environment variable OUTPOST_MQTT__PORT\]/);
      assert.match(error.message, /unknown environment variable .*\[environment variable OUTPOST_NOPE\]/);
    }
  });

  it('names the line and column of a syntax error in the file', () => {
    const configFile = file('syntax.json', '{\n  "mqtt": { "port": 1, }\n  "amqp": 2\n}');
    const problems = problemsOf(() => loadConfig({ configFile, env: {} }));
    assert.ok(problems.length >= 1);
    assert.equal(problems[0]!.code, 'OUTPOST_CONFIG_FILE_SYNTAX');
    assert.match(problems[0]!.message, /line \d+, column \d+/);
  });

  it('reports a missing config file together with other problems', () => {
    const problems = problemsOf(() => loadConfig({ configFile: join(dir.path, 'missing.yaml'), env: { OUTPOST_MQTT__PORT: 'no' } }));
    assert.deepEqual(problems.map((p) => p.code).sort(), ['OUTPOST_CONFIG_FILE_UNREADABLE', 'OUTPOST_CONFIG_INVALID']);
    assert.match(problems.find((p) => p.code === 'OUTPOST_CONFIG_FILE_UNREADABLE')!.message, /ENOENT/);
  });

  it('rejects a section given as a scalar and a duration without a unit', () => {
    const configFile = file('shape.yaml', 'mqtt: 8883\nshutdownTimeout: 30\n');
    const problems = problemsOf(() => loadConfig({ configFile, env: {} }));
    assert.deepEqual(problems.map((p) => p.path).sort(), ['mqtt', 'shutdownTimeout']);
    assert.match(problems.find((p) => p.path === 'shutdownTimeout')!.message, /duration with a unit/);
  });

  it('requires the certificate and key to be set together', () => {
    const problems = problemsOf(() => loadConfig({ env: { OUTPOST_TLS__CERT_FILE: '/etc/outpost/server.pem' } }));
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.path, 'tls.certFile');
    assert.match(problems[0]!.message, /set together/);
  });

  it('rejects two enabled listeners on the same port, but allows two ephemeral ports', () => {
    const problems = problemsOf(() => loadConfig({ env: { OUTPOST_MQTT__PORT: '9000', OUTPOST_AMQP__PORT: '9000' } }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /also used by mqtt\.port/);
    const ok = loadConfig({ env: { OUTPOST_MQTT__PORT: '0', OUTPOST_AMQP__PORT: '0' } });
    assert.equal(ok.config.amqp.port, 0);
  });

  it('does not count OUTPOST_CONFIG as an unknown variable', () => {
    const configFile = file('empty.yaml', '');
    assert.equal(loadConfig({ env: { OUTPOST_CONFIG: configFile } }).configFile, configFile);
  });
});
