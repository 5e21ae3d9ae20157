import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runOutpost, tempDir } from '../helpers/outpost-process.js';

const dir = tempDir('outpost-routes-cli-');
after(() => dir.remove());

function messageFile(name: string, content: unknown): string {
  const file = join(dir.path, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const telemetry = messageFile('telemetry.json', {
  properties: { temp: '72', alert: null },
  systemProperties: { contentType: 'application/json', contentEncoding: 'utf-8', connectionDeviceId: 'sensor-1' },
  body: { reading: { t: 22.5, unit: 'C' } },
});

describe('outpost routes test', () => {
  it('prints True and the endpoint for a matching route (exit 0)', async () => {
    const route = 'FROM /messages/* WHERE as_number(temp) > 50 AND $body.reading.unit = \'C\' AND $connectionDeviceId = \'sensor-1\' INTO BrokeredEndpoint("/modules/ml/inputs/in1")';
    const result = await runOutpost(['routes', 'test', '--route', route, '--message', telemetry]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'True\nendpoint: BrokeredEndpoint("/modules/ml/inputs/in1")\n');
  });

  it('prints False and Undefined as the three-valued logic says', async () => {
    const no = await runOutpost(['routes', 'test', '--route', 'FROM /messages WHERE as_number(temp) < 50 INTO $upstream', '--message', telemetry]);
    assert.equal(no.code, 0);
    assert.equal(no.stdout, 'False\nendpoint: $upstream\n');
    const unknown = await runOutpost(['routes', 'test', '--route', "FROM /messages WHERE missing = 'x' INTO $upstream", '--message', telemetry]);
    assert.equal(unknown.stdout, 'Undefined\nendpoint: $upstream\n');
  });

  it('says False when the message source does not reach the route', async () => {
    const result = await runOutpost(['routes', 'test', '--route', 'FROM /messages/modules/ml INTO $upstream', '--message', telemetry]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^False\nendpoint: \$upstream\nnote: the message source \/messages\/ does not match FROM \/messages\/modules\/ml\//);
    const fromModule = messageFile('module.json', { systemProperties: { connectionModuleId: 'ml', outputName: 'out1' } });
    const routed = await runOutpost(['routes', 'test', '--route', 'FROM /messages/modules/ml/outputs/out1 INTO $upstream', '--message', fromModule]);
    assert.equal(routed.stdout, 'True\nendpoint: $upstream\n');
  });

  it('prints the compile error with its position and a caret, exit 2', async () => {
    const route = 'FROM /messages/* WHERE temp > 50 INTO $upstream';
    const result = await runOutpost(['routes', 'test', '--route', route, '--message', telemetry]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^error: OUTPOST_ROUTE_TYPE: invalid operands to binary operator '>': have 'string' and 'number'.* at line 1, column 29 \(offset 28\)\n/);
    assert.ok(result.stderr.includes(`  ${route}\n  ${' '.repeat(28)}^\n`), result.stderr);
    const trailing = await runOutpost(['routes', 'test', '--route', "FROM /messages INTO $upstream WHERE x = 'y'", '--message', telemetry]);
    assert.equal(trailing.code, 2);
    assert.match(trailing.stderr, /OUTPOST_ROUTE_SYNTAX: unexpected 'WHERE' after the sink.* column 31/);
  });

  it('explains a $body route on a message without JSON content, and rejects a bad message file (exit 2)', async () => {
    const plain = messageFile('plain.json', { body: { reading: { t: 1 } } });
    const result = await runOutpost(['routes', 'test', '--route', 'FROM /messages WHERE $body.reading.t = 1 INTO $upstream', '--message', plain]);
    assert.equal(result.stdout, 'Undefined\nendpoint: $upstream\n');
    assert.match(result.stderr, /\$body queries are Undefined unless systemProperties has contentType "application\/json"/);
    const numbers = messageFile('numbers.json', { properties: { temp: 72 } });
    const bad = await runOutpost(['routes', 'test', '--route', 'FROM /messages INTO $upstream', '--message', numbers]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /properties\.temp must be a string or null/);
    const missing = await runOutpost(['routes', 'test', '--route', 'FROM /messages INTO $upstream', '--message', join(dir.path, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the message file/);
    const usage = await runOutpost(['routes', 'test', '--route', 'FROM /messages INTO $upstream']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /required option '--message <file>'/);
  });
});

function manifest(routes: Record<string, unknown>): string {
  const file = join(dir.path, `deployment-${Object.keys(routes).join('-')}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      modulesContent: {
        $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker' }, systemModules: {}, modules: {} } },
        $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } } },
      },
    }),
  );
  return file;
}

describe('outpost check: deployment routes', () => {
  it('accepts good routes and warns about a FROM that matches nothing', async () => {
    const file = manifest({ up: 'FROM /messages/* INTO $upstream', ml: { route: 'FROM /message INTO BrokeredEndpoint("/modules/ml/inputs/in")', priority: 1 } });
    const result = await runOutpost(['check', '--data-dir', dir.path, '--deployment', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /routes: ok \(2 routes\)/);
    assert.match(result.stdout, /warning: route "ml": FROM \/message matches no message source/);
  });

  it('prints every bad route with its name and position, exit 2', async () => {
    const file = manifest({
      good: 'FROM /messages INTO $upstream',
      typo: 'FROM /messages WHERE temp > 50 INTO $upstream',
      sloppy: "FROM /messages INTO $upstream WHERE x = 'true'",
      prio: { route: 'FROM /messages INTO $upstream', priority: 11 },
    });
    const result = await runOutpost(['check', '--data-dir', dir.path, '--deployment', file]);
    assert.equal(result.code, 2);
    // The validation `outpost deploy` applies (issue 19): a manifest with a bad route is refused whole, with status 400.
    assert.match(result.stderr, /deployment: 3 problem\(s\) in .* \(status 400\)/);
    assert.match(result.stderr, /routes\.typo: route "typo": invalid operands to binary operator '>'.* at line 1, column 27 \(offset 26\) \(OUTPOST_ROUTE_TYPE\)/);
    assert.match(result.stderr, /routes\.sloppy: route "sloppy": unexpected 'WHERE' after the sink.* at line 1, column 31 \(offset 30\) \(OUTPOST_ROUTE_SYNTAX\)/);
    assert.match(result.stderr, /routes\.prio: route "prio": priority must be an integer from 0 \(highest\) to 9, got 11 \(OUTPOST_ROUTE_INVALID_SPEC\)/);
    assert.match(result.stderr, / {6}FROM \/messages WHERE temp > 50 INTO \$upstream\n {6} {26}\^/);
    assert.doesNotMatch(result.stderr, /route "good"/);
  });
});
