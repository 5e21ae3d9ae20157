import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pack, unpack } from 'msgpackr';
import type { HubMessage } from '../../src/hub/message/index.js';
import { DEFAULT_PRIORITY, RouteTable, compileRouteTable, type CompiledRouteTableData } from '../../src/hub/routing/index.js';

function message(source: string, properties: Record<string, string | null> = {}, body?: unknown): HubMessage {
  const json: Record<string, string> = body === undefined ? {} : { contentType: 'application/json', contentEncoding: 'utf-8' };
  return { source, body: new TextEncoder().encode(body === undefined ? '' : JSON.stringify(body)), properties, systemProperties: json, enqueuedAtMs: 0 };
}

const ids = (table: RouteTable, m: HubMessage) => table.route(m).map((t) => t.endpoint.id);

describe('route table: batch evaluation', () => {
  it('sends a message to each endpoint once, at the lowest priority number, with that route’s TTL', () => {
    const table = RouteTable.fromData(
      compileRouteTable({
        low: { route: 'FROM /messages/* INTO $upstream', priority: 5, timeToLiveSecs: 10 },
        high: { route: "FROM /messages WHERE alert = 'yes' INTO $upstream", priority: 1, timeToLiveSecs: 60 },
        tie: { route: 'FROM /messages INTO $upstream', priority: 1, timeToLiveSecs: 99 },
        plain: 'FROM /messages/* INTO BrokeredEndpoint("/modules/ml/inputs/in1")',
        sameInput: { route: 'FROM /* INTO BrokeredEndpoint("/modules/ml/inputs/in1")', priority: 7 },
      }),
    );
    const alert = table.route(message('/messages/', { alert: 'yes' }));
    assert.deepEqual(alert, [
      { endpoint: { kind: 'upstream', id: '$upstream' }, priority: 1, ttlSec: 60, route: 'high' },
      { endpoint: { kind: 'moduleInput', id: '/modules/ml/inputs/in1', moduleId: 'ml', inputName: 'in1' }, priority: 7, ttlSec: 0, route: 'sameInput' },
    ]);
    // Without the alert, "tie" (priority 1, listed after "high") carries the message upstream.
    const quiet = table.route(message('/messages/', { alert: 'no' }));
    assert.deepEqual(quiet.map((t) => [t.route, t.priority, t.ttlSec]), [['tie', 1, 99], ['sameInput', 7, 0]]);
    assert.equal(table.routes.find((r) => r.name === 'plain')!.priority, DEFAULT_PRIORITY);
  });

  it('matches sources by prefix, ignoring case, and caches per source without mixing them up', () => {
    const table = RouteTable.fromData(
      compileRouteTable({
        devices: 'FROM /messages WHERE NOT is_defined($connectionModuleId) INTO BrokeredEndpoint("/modules/a/inputs/devices")',
        ml: 'FROM /messages/modules/ML INTO BrokeredEndpoint("/modules/a/inputs/ml")',
        mlOut1: 'FROM /messages/modules/ml/outputs/out1 INTO BrokeredEndpoint("/modules/a/inputs/out1")',
        twins: 'FROM /twinChangeNotifications INTO BrokeredEndpoint("/modules/a/inputs/twins")',
        all: { route: 'FROM /* INTO $upstream', priority: 0 },
      }),
    );
    const mod = (m: HubMessage) => ({ ...m, systemProperties: { connectionModuleId: 'ml' } });
    for (let round = 0; round < 2; round++) {
      assert.deepEqual(ids(table, message('/messages/')), ['/modules/a/inputs/devices', '$upstream']);
      assert.deepEqual(ids(table, mod(message('/messages/modules/ml/outputs/out1/'))), ['/modules/a/inputs/ml', '/modules/a/inputs/out1', '$upstream']);
      assert.deepEqual(ids(table, mod(message('/messages/modules/ml/outputs/out2/'))), ['/modules/a/inputs/ml', '$upstream']);
      assert.deepEqual(ids(table, mod(message('/messages/modules/mlx/'))), ['$upstream']);
      assert.deepEqual(ids(table, message('/twinChangeNotifications/')), ['/modules/a/inputs/twins', '$upstream']);
    }
  });

  it('returns flat offsets and route indexes for a batch; a message with no route has an empty range', () => {
    const table = RouteTable.fromData(
      compileRouteTable({ hot: "FROM /messages WHERE level = 'hot' INTO $upstream", any: 'FROM /messages/modules INTO BrokeredEndpoint("/modules/b/inputs/x")' }),
    );
    const batch = table.evaluateBatch([message('/messages/', { level: 'hot' }), message('/messages/', { level: 'cold' }), message('/messages/modules/m/', { level: 'hot' })]);
    assert.deepEqual([...batch.offsets], [0, 1, 1, 3]);
    assert.deepEqual([...batch.routeIndexes].map((i) => table.routes[i]!.name), ['hot', 'hot', 'any']);
    assert.deepEqual(table.targetsOf(batch, 1), []);
    assert.equal(batch.undefinedResults, 0);
    assert.equal(table.evaluateBatch([message('/messages/')]).undefinedResults, 1, 'level missing: Undefined');
    assert.deepEqual([...table.evaluateBatch([]).offsets], [0]);
  });

  it('handles batches whose targets outgrow the scratch buffer', () => {
    const routes: Record<string, string> = {};
    for (let i = 0; i < 40; i++) routes[`r${i}`] = `FROM /messages INTO BrokeredEndpoint("/modules/m${i}/inputs/in")`;
    const table = RouteTable.fromData(compileRouteTable(routes));
    const batch = table.evaluateBatch(Array.from({ length: 100 }, () => message('/messages/')));
    assert.equal(batch.routeIndexes.length, 4000);
    assert.equal(batch.offsets[100], 4000);
    assert.equal(table.targetsOf(batch, 99).length, 40);
  });

  it('parses a JSON body at most once per message, however many routes query it, and only when needed', () => {
    const routes: Record<string, string> = { props: "FROM /messages WHERE kind = 'x' INTO $upstream" };
    for (let i = 0; i < 10; i++) routes[`body${i}`] = `FROM /messages WHERE $body.sensor.t${i} > ${i} INTO BrokeredEndpoint("/modules/m${i}/inputs/in")`;
    routes.otherSource = 'FROM /messages/modules/nobody WHERE $body.x = 1 INTO $upstream';
    const table = RouteTable.fromData(compileRouteTable(routes));
    const sensor = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, i + 1]));
    const batch = Array.from({ length: 50 }, () => message('/messages/', { kind: 'x' }, { sensor }));
    const result = table.evaluateBatch(batch);
    assert.equal(table.bodyParses, 50);
    assert.equal(table.targetsOf(result, 0).length, 11);
    const propsOnly = RouteTable.fromData(compileRouteTable({ props: routes.props!, otherSource: routes.otherSource! }));
    propsOnly.evaluateBatch(batch);
    assert.equal(propsOnly.bodyParses, 0, 'no route that sees these messages queries the body');
  });

  it('rejects an invalid route alone, with its name and position; the others route', () => {
    const data = compileRouteTable({
      good: 'FROM /messages INTO $upstream',
      typo: 'FROM /messages WHERE temp > 50 INTO $upstream',
      alsoGood: 'FROM /messages INTO BrokeredEndpoint("/modules/x/inputs/y")',
    });
    assert.deepEqual(data.routes.map((r) => r.name), ['good', 'alsoGood']);
    assert.equal(data.rejected.length, 1);
    const [rejected] = data.rejected;
    assert.equal(rejected!.name, 'typo');
    assert.equal(rejected!.error.code, 'OUTPOST_ROUTE_TYPE');
    assert.match(rejected!.error.message, /^route "typo": invalid operands to binary operator '>'.* at line 1, column 27 \(offset 26\)$/);
    assert.deepEqual(ids(RouteTable.fromData(data), message('/messages/')), ['$upstream', '/modules/x/inputs/y']);
  });

  it('counts a condition that throws as Undefined and keeps routing the others', () => {
    // Compiled data that the compiler would never produce: a body path that is not a path.
    const data: CompiledRouteTableData = compileRouteTable({ a: 'FROM /messages WHERE $body.x = 1 INTO $upstream', b: 'FROM /messages INTO BrokeredEndpoint("/modules/m/inputs/i")' });
    const broken = { ...data, routes: data.routes.map((r) => (r.name === 'a' ? { ...r, compiled: { ...r.compiled, constants: r.compiled.constants.map(() => null) } } : r)) };
    const table = RouteTable.fromData(broken);
    const batch = table.evaluateBatch([message('/messages/', {}, { x: 1 })]);
    assert.equal(batch.errors, 1);
    assert.deepEqual(table.targetsOf(batch, 0).map((t) => t.route), ['b']);
  });

  it('survives the trip to a shard worker: structured clone and msgpackr', () => {
    const data = compileRouteTable({
      r: "FROM /messages WHERE as_number(t) < 1/0 AND $body.a[1].b = 'x' AND length('\\u00e9') = 1 INTO $upstream",
      bad: 'FROM /messages WHERE INTO $upstream',
    });
    const m = message('/messages/', { t: '5' }, { a: [0, { b: 'x' }] });
    for (const copy of [structuredClone(data), unpack(pack(data)) as CompiledRouteTableData]) {
      const table = RouteTable.fromData(copy);
      assert.deepEqual(ids(table, m), ['$upstream']);
      assert.equal(table.rejected[0]!.name, 'bad');
    }
  });
});
