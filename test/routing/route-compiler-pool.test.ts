import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RouteCompilerPool, RouteTable } from '../../src/hub/routing/index.js';

/** The compiler runs in a real Piscina worker; its output is instantiated here, as a shard would. */

describe('route compiler worker (Piscina)', () => {
  const pool = new RouteCompilerPool();
  after(() => pool.close());

  it('compiles a routes object off the main thread, rejecting the bad route alone', async () => {
    const data = await pool.compile(
      {
        hot: { route: "FROM /messages WHERE as_number(temp) > 50 AND $body.unit = 'C' INTO BrokeredEndpoint(\"/modules/ml/inputs/in\")", priority: 1, timeToLiveSecs: 30 },
        all: 'FROM /messages/* INTO $upstream',
        broken: 'FROM /messages WHERE temp > 50 INTO $upstream',
      },
      '1.1',
    );
    assert.deepEqual(data.routes.map((r) => r.name), ['hot', 'all']);
    assert.deepEqual(data.rejected.map((r) => [r.name, r.error.code, r.problem?.column]), [['broken', 'OUTPOST_ROUTE_TYPE', 27]]);
    const table = RouteTable.fromData(data);
    const message = {
      source: '/messages/',
      body: new TextEncoder().encode('{"unit": "C"}'),
      properties: { temp: '72' },
      systemProperties: { contentType: 'application/json', contentEncoding: 'utf-8' },
      enqueuedAtMs: 0,
    };
    assert.deepEqual(table.route(message).map((t) => [t.route, t.endpoint.id, t.priority, t.ttlSec]), [
      ['hot', '/modules/ml/inputs/in', 1, 30],
      ['all', '$upstream', 2_000_000_000, 0],
    ]);
  });

  it('applies the schema version it is given', async () => {
    const data = await pool.compile({ r: { route: 'FROM /messages INTO $upstream', priority: 1 } }, '1.0');
    assert.equal(data.routes.length, 0);
    assert.match(data.rejected[0]!.error.message, /schemaVersion 1\.1 or later/);
  });
});
