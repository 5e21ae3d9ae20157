/**
 * Who may read the dashboard, over real HTTPS to an in-process hub on port 0: nothing but the
 * sign-in page without the operator token; `Authorization: Bearer <token>`; the session cookie
 * from POST /dashboard/session, refused once tampered with, expired or after `outpost dashboard
 * url --rotate`; the event stream's first snapshot; the dashboard off; and open pages do not
 * hold up a shutdown.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { DashboardToken, SESSION_COOKIE, type DashboardSnapshot } from '../../src/dashboard/index.js';
import { createLogger } from '../../src/log/index.js';
import { Runtime } from '../../src/main.js';
import { runOutpost, tempDir } from '../helpers/outpost-process.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function call(port: number, ca: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, ca, servername: 'localhost' }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens the event stream and resolves with the events read until `until` says enough. */
function readEvents(port: number, ca: string, headers: Record<string, string>, until: (events: Array<{ event: string; data: unknown }>) => boolean): Promise<Array<{ event: string; data: unknown }>> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, path: '/dashboard/events', headers, ca, servername: 'localhost' }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`status ${response.statusCode}`));
      assert.match(String(response.headers['content-type']), /^text\/event-stream/);
      const events: Array<{ event: string; data: unknown }> = [];
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name !== undefined && data !== undefined) events.push({ event: name, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        if (until(events)) {
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function startRuntime(dir: string, extra: Record<string, unknown> = {}): Promise<Runtime> {
  const file = join(dir, `outpost-${Object.keys(extra).join('-') || 'default'}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      deviceId: 'edge1',
      mqtt: { port: 0 },
      https: { port: 0 },
      amqp: { enabled: false },
      store: { shards: 1 },
      routes: { up: 'FROM /messages/* INTO $upstream' },
      ...extra,
    }),
  );
  const { config } = loadConfig({ env: {}, configFile: file, cwd: dir });
  return Runtime.start({ config, logger: createLogger({ level: 'error' }), hub: true, agent: false });
}

describe('dashboard access', () => {
  const dir = tempDir('outpost-dashboard-access-');
  let runtime: Runtime;
  let port: number;
  let ca: string;
  let token: DashboardToken;

  before(async () => {
    runtime = await startRuntime(dir.path);
    port = runtime.ports!.https!;
    ca = runtime.hub!.credentials.ca;
    token = new DashboardToken(join(dir.path, 'data'));
  });

  after(async () => {
    await runtime?.stop('test');
    dir.remove();
  });

  it('answers only the sign-in page and its files without credentials', async () => {
    const page = await call(port, ca, '/dashboard');
    assert.equal(page.status, 401);
    assert.match(page.body, /id="sign-in"/);
    assert.doesNotMatch(page.body, /id="modules"/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(page.headers['cache-control'], 'no-store');
    for (const path of ['/dashboard/', '/dashboard/index.html']) assert.equal((await call(port, ca, path)).status, 401, path);
    for (const path of ['/dashboard/events', '/dashboard/app.js', '/dashboard/chart.js']) {
      const refused = await call(port, ca, path);
      assert.equal(refused.status, 401, path);
      assert.equal(refused.headers['www-authenticate'], 'Bearer realm="outpost-dashboard"');
    }
    for (const path of ['/dashboard/login.js', '/dashboard/style.css', '/dashboard/favicon.svg']) assert.equal((await call(port, ca, path)).status, 200, path);
    assert.equal((await call(port, ca, '/dashboardx')).status, 404);
    assert.equal((await call(port, ca, '/dashboard/nothing-here', { headers: { authorization: `Bearer ${token.read()!}` } })).status, 404);
  });

  it('takes the operator token as a Bearer header, and nothing else', async () => {
    const secret = token.read()!;
    assert.equal((await call(port, ca, '/dashboard', { headers: { authorization: `Bearer ${secret}` } })).status, 200);
    assert.equal((await call(port, ca, '/dashboard', { headers: { authorization: `Bearer ${secret}x` } })).status, 401);
    assert.equal((await call(port, ca, '/dashboard', { headers: { authorization: 'SharedAccessSignature sr=edge1&sig=x&se=1' } })).status, 401);
    // The token is in no answer.
    const page = await call(port, ca, '/dashboard', { headers: { authorization: `Bearer ${secret}` } });
    assert.ok(!page.body.includes(secret));
  });

  it('opens a session cookie on sign-in, refused when tampered with, expired or after a rotation', async () => {
    const json = { 'content-type': 'application/json' };
    const wrong = await call(port, ca, '/dashboard/session', { method: 'POST', headers: json, body: JSON.stringify({ token: 'guess' }) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['set-cookie'], undefined);
    assert.equal((await call(port, ca, '/dashboard/session', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ token: token.read() }) })).status, 415);
    const signedIn = await call(port, ca, '/dashboard/session', { method: 'POST', headers: json, body: JSON.stringify({ token: token.read() }) });
    assert.equal(signedIn.status, 200);
    const setCookie = String(signedIn.headers['set-cookie']);
    assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=\\d+\\.[A-Za-z0-9_-]+; Path=/dashboard; Max-Age=43200; HttpOnly; Secure; SameSite=Strict$`));
    const session = setCookie.slice(SESSION_COOKIE.length + 1, setCookie.indexOf(';'));
    const withCookie = (value: string) => call(port, ca, '/dashboard', { headers: { cookie: `other=1; ${SESSION_COOKIE}=${value}` } });
    assert.equal((await withCookie(session)).status, 200);
    // A later expiry under the same MAC does not verify; nor does an expired session.
    const [expiry, mac] = session.split('.');
    assert.equal((await withCookie(`${Number(expiry) + 1000}.${mac}`)).status, 401);
    assert.equal((await withCookie(token.session(Date.now() - 1)!)).status, 401);
    // `outpost dashboard url --rotate` (another process) ends the session; the new token signs in.
    const rotated = await runOutpost(['dashboard', 'url', '--rotate', '--data-dir', join(dir.path, 'data'), '--https-port', String(port)]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = /#token=(.+)$/.exec(rotated.stdout.trim())?.[1];
    assert.ok(fresh !== undefined && fresh === token.read(), rotated.stdout);
    assert.equal((await withCookie(session)).status, 401);
    assert.equal((await call(port, ca, '/dashboard', { headers: { authorization: `Bearer ${fresh}` } })).status, 200);
    const signedOut = await call(port, ca, '/dashboard/logout', { method: 'POST' });
    assert.match(String(signedOut.headers['set-cookie']), new RegExp(`^${SESSION_COOKIE}=; Path=/dashboard; Max-Age=0`));
  });

  it('streams the chart history, then snapshots with routes, queues, clients and disk', async () => {
    const events = await readEvents(port, ca, { authorization: `Bearer ${token.read()!}` }, (list) => list.filter((e) => e.event === 'snapshot').length >= 2);
    assert.equal(events[0]?.event, 'history');
    const snapshots = events.filter((e) => e.event === 'snapshot').map((e) => e.data as DashboardSnapshot);
    const first = snapshots[0]!;
    assert.equal(first.device, 'edge1');
    assert.deepEqual(first.routes.map((r) => [r.name, r.source, r.endpoint, r.priority, r.moved]), [['up', '/messages/', '$upstream', null, 0]]);
    assert.equal(first.clients.total, 0);
    assert.equal(first.disk.persistent, true);
    assert.ok(first.disk.totalBytes! > 0 && first.disk.availableBytes! > 0);
    // No agent runs with `outpost hub` and none answers on the control socket.
    assert.equal(first.modules.available, false);
    // Rates need two ticks: the first has none, the second has them.
    assert.equal(first.rates.inPerSec, null);
    assert.equal(snapshots[1]!.rates.inPerSec, 0);
  });
});

describe('dashboard off, and shutdown with a page open', () => {
  const dir = tempDir('outpost-dashboard-stop-');
  after(() => dir.remove());

  it('is not served when dashboard.enabled is false', async () => {
    const runtime = await startRuntime(dir.path, { dashboard: { enabled: false } });
    try {
      const port = runtime.ports!.https!;
      assert.equal((await call(port, runtime.hub!.credentials.ca, '/dashboard')).status, 404);
      assert.equal(runtime.dashboard, undefined);
    } finally {
      await runtime.stop('test');
    }
  });

  it('ends open event streams when the hub stops, instead of waiting for shutdownTimeout', { timeout: 120_000 }, async () => {
    // Ten minutes: if an open page held the HTTPS listener, this test would time out.
    const runtime = await startRuntime(dir.path, { shutdownTimeout: '10m' });
    const port = runtime.ports!.https!;
    const ca = runtime.hub!.credentials.ca;
    const secret = new DashboardToken(join(dir.path, 'data')).read()!;
    const ended = new Promise<void>((resolve, reject) => {
      const req = request({ host: 'localhost', port, path: '/dashboard/events', headers: { authorization: `Bearer ${secret}` }, ca, servername: 'localhost' }, (response) => {
        response.once('data', () => void runtime.stop('test'));
        response.on('data', () => undefined);
        // Ended by the dashboard, or cut when the listener closes its connections right after:
        // either way the stream is over (EventSource then reconnects to the next hub).
        response.on('error', () => undefined);
        response.once('close', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    await ended;
    await runtime.stop('test');
    assert.equal(runtime.dashboard?.openPages, 0);
  });
});
