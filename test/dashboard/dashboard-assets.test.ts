/**
 * The dashboard's files ship in the package and stay small and self-contained: every file the
 * pages load exists, nothing is loaded from another origin, the total stays under its budget
 * (docs/dashboard.md reports it) and `npm pack` includes them. Also the two calculations the
 * page relies on: the latency quantile and what each route moved.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ASSETS_DIR, quantile, StaticAssets } from '../../src/dashboard/index.js';
import { routeTraffic } from '../../src/dashboard/route-traffic.js';
import { compileRouteTable } from '../../src/hub/routing/index.js';
import { MetricsRegistry } from '../../src/metrics/index.js';
import { REPO_ROOT } from '../packaging/install-tarball.js';

/** docs/dashboard.md states the size; raise both together, and only with a reason. */
const BUDGET_BYTES = 24 * 1024;

describe('dashboard assets', () => {
  const assets = new StaticAssets();

  it('are small, and every file a page loads is there', () => {
    assert.ok(assets.totalBytes < BUDGET_BYTES, `${assets.totalBytes} bytes`);
    const docs = readFileSync(join(REPO_ROOT, 'docs', 'dashboard.md'), 'utf8');
    assert.match(docs, new RegExp(`${assets.totalBytes} bytes`), 'docs/dashboard.md states the current total');
    for (const page of ['index.html', 'login.html']) {
      const html = assets.get(page)!.body.toString('utf8');
      for (const [, path] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
        assert.match(path!, /^\/dashboard\/[a-z.-]+$/, `${page} loads ${path} from this origin`);
        assert.ok(assets.get(path!.slice('/dashboard/'.length)) !== undefined, `${page}: ${path} exists`);
      }
    }
    const app = assets.get('app.js')!.body.toString('utf8');
    assert.match(app, /from '\.\/chart\.js'/);
    for (const name of assets.names()) {
      const text = assets.get(name)!.body.toString('utf8');
      assert.doesNotMatch(text, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${name} names no other origin`);
      assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, `${name} never parses values as markup`);
    }
  });

  it('are in the packed tarball', () => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Array<{ files: Array<{ path: string }> }>;
    const files = packed[0]!.files.map((f) => f.path);
    for (const name of assets.names()) assert.ok(files.includes(`assets/dashboard/${name}`), `assets/dashboard/${name} is packed`);
    assert.ok(files.includes('dist/src/dashboard/static-assets.js'));
    // The server finds them where the package puts them, relative to its compiled code.
    assert.equal(ASSETS_DIR, join(REPO_ROOT, 'assets', 'dashboard') + '/');
  });
});

describe('dashboard figures', () => {
  it('quantile interpolates within the bucket of the rank, over the difference of two readings', () => {
    const bounds = [0.01, 0.1, 1];
    const before = Float64Array.from([5, 0, 0, 0]);
    // 100 new observations: 90 ≤ 10 ms, 9 in (10 ms, 100 ms], 1 in (100 ms, 1 s].
    const now = Float64Array.from([95, 9, 1, 0]);
    assert.equal(quantile(0.5, bounds, now, before), 0.01 * (50 / 90));
    assert.ok(Math.abs(quantile(0.99, bounds, now, before) - 0.1) < 1e-12);
    assert.equal(quantile(0.99, bounds, before, before), 0);
    // Past the last bound: the last bound, not infinity.
    assert.equal(quantile(0.5, bounds, Float64Array.from([0, 0, 0, 4]), Float64Array.from([0, 0, 0, 0])), 1);
  });

  it('attributes acknowledged copies to the routes whose FROM and endpoint fit their sender', () => {
    const table = compileRouteTable({
      telemetry: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO $upstream',
      filterOut: 'FROM /messages/modules/filter/outputs/out INTO $upstream',
      toFilter: { route: 'FROM /messages/* INTO BrokeredEndpoint("/modules/filter/inputs/in")', priority: 1 },
    });
    const registry = new MetricsRegistry();
    const sent = registry.counter({ name: 'edgehub_messages_sent_total', help: 'h', labelNames: ['from', 'to', 'from_route_output', 'to_route_input', 'priority'] });
    sent.series('dev1', 'upstream', '', '', '2000000000').value = 7;
    sent.series('edge/filter', 'upstream', 'out', '', '2000000000').value = 3;
    sent.series('dev1', 'edge/filter', '', 'in', '1').value = 5;
    sent.series('edge/sensor', 'edge/filter', 'temp', 'in', '1').value = 2;
    const { routes } = routeTraffic(table, registry.family('edgehub_messages_sent_total'), 'edge');
    // telemetry's FROM /messages/* also matches the module's messages (its WHERE is not re-run): see its doc.
    assert.deepEqual(routes.map((r) => [r.name, r.moved, r.priority]), [['telemetry', 10, null], ['filterOut', 3, null], ['toFilter', 7, 1]]);
  });
});
