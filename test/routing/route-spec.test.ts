import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PRIORITY, compileRouteTable, readRouteSpec } from '../../src/hub/routing/index.js';

/** The `$edgeHub` routes entry rules of schema 1.0/1.1 (section 1.3 of the notes). */

const ROUTE = 'FROM /messages INTO $upstream';

function reason(name: string, value: unknown, schemaVersion?: string): string {
  const result = readRouteSpec(name, value, schemaVersion);
  assert.equal(result.ok, false, `${name}: ${JSON.stringify(value)} was accepted`);
  return result.ok ? '' : result.reason;
}

describe('route entries of $edgeHub desired properties', () => {
  it('reads a string as priority 2000000000 and TTL 0 (inherit the store TTL)', () => {
    assert.deepEqual(readRouteSpec('r', ROUTE), { ok: true, spec: { text: ROUTE, priority: DEFAULT_PRIORITY, ttlSec: 0 } });
    assert.equal(DEFAULT_PRIORITY, 2_000_000_000);
  });

  it('reads the object form with priority 0-9 and timeToLiveSecs 0-4294967295', () => {
    assert.deepEqual(readRouteSpec('r', { route: ROUTE, priority: 0, timeToLiveSecs: 4294967295 }), {
      ok: true,
      spec: { text: ROUTE, priority: 0, ttlSec: 4294967295 },
    });
    assert.deepEqual(readRouteSpec('r', { route: ROUTE, priority: 9 }), { ok: true, spec: { text: ROUTE, priority: 9, ttlSec: 0 } });
    assert.deepEqual(readRouteSpec('r', { route: ROUTE }), { ok: true, spec: { text: ROUTE, priority: DEFAULT_PRIORITY, ttlSec: 0 } });
    assert.equal(readRouteSpec('r', { route: ROUTE }, '1.1.0').ok, true);
  });

  it('rejects priorities and TTLs out of range or of the wrong type', () => {
    for (const priority of [10, -1, 1.5, '3', null, true]) assert.match(reason('r', { route: ROUTE, priority }), /priority must be an integer from 0 \(highest\) to 9/);
    for (const ttl of [-1, 4294967296, 2.5, '60', null]) assert.match(reason('r', { route: ROUTE, timeToLiveSecs: ttl }), /timeToLiveSecs must be an integer from 0 to 4294967295/);
  });

  it('rejects empty routes, malformed entries, unknown keys, and the object form under schema 1.0', () => {
    assert.match(reason('r', ''), /route string is empty/);
    assert.match(reason('r', '  \n '), /route string is empty/);
    assert.match(reason('r', { route: ' ' }), /route string is empty/);
    assert.match(reason('r', {}), /needs "route"/);
    assert.match(reason('r', { route: 42 }), /needs "route"/);
    assert.match(reason('r', 42), /malformed route specification/);
    assert.match(reason('r', ['FROM /messages INTO $upstream']), /malformed route specification/);
    assert.match(reason('r', null), /malformed route specification/);
    assert.match(reason('r', { route: ROUTE, priorty: 1 }), /unknown key\(s\) "priorty"/);
    assert.match(reason('r', { route: ROUTE, priority: 1 }, '1.0'), /schemaVersion 1\.1 or later/);
    assert.equal(readRouteSpec('r', ROUTE, '1.0').ok, true);
  });

  it('rejects route names that the schema forbids', () => {
    for (const name of ['', 'a.b', '$a', 'a#b', 'a b']) assert.match(reason(name, ROUTE), /invalid route name/);
    assert.equal(readRouteSpec('route-1_ok!', ROUTE).ok, true);
  });

  it('reports each bad entry with its name while the good ones compile', () => {
    const table = compileRouteTable(
      {
        ok: ROUTE,
        badPriority: { route: ROUTE, priority: 12 },
        'bad name': ROUTE,
        badSyntax: 'FROM /messages WHERE INTO $upstream',
        alsoOk: { route: 'FROM /messages INTO BrokeredEndpoint("/modules/m/inputs/i")', priority: 3, timeToLiveSecs: 30 },
      },
      { schemaVersion: '1.1' },
    );
    assert.deepEqual(table.routes.map((r) => [r.name, r.priority, r.ttlSec]), [['ok', DEFAULT_PRIORITY, 0], ['alsoOk', 3, 30]]);
    assert.deepEqual(table.rejected.map((r) => [r.name, r.error.code]), [
      ['badPriority', 'OUTPOST_ROUTE_INVALID_SPEC'],
      ['bad name', 'OUTPOST_ROUTE_INVALID_SPEC'],
      ['badSyntax', 'OUTPOST_ROUTE_SYNTAX'],
    ]);
    assert.match(table.rejected[0]!.error.message, /^route "badPriority": priority must be/);
    assert.equal(table.rejected[0]!.problem, undefined, 'an entry problem has no position in the route text');
    assert.equal(table.rejected[2]!.problem!.column, 22);
  });

  it('treats absent routes as none and a non-object as one rejection', () => {
    assert.deepEqual(compileRouteTable(undefined), { routes: [], rejected: [] });
    const wrong = compileRouteTable(['FROM /messages INTO $upstream']);
    assert.equal(wrong.routes.length, 0);
    assert.equal(wrong.rejected[0]!.error.code, 'OUTPOST_ROUTE_INVALID_SPEC');
  });
});
