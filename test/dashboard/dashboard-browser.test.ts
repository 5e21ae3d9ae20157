/**
 * The live dashboard in real headless Chromium (Debian's, driven by playwright-core) against
 * `outpost run` as a child process on port 0, with one process module and mqtt.js clients with
 * SAS tokens: a browser without the token gets the sign-in page and no figures; the link printed
 * by `outpost dashboard url` signs in and the page loads without console errors; the throughput
 * chart rises while MQTT traffic runs; `outpost restart` shows up in the modules table. The
 * screenshot in docs/images/dashboard.png comes from here (UPDATE_SCREENSHOTS=1).
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type mqtt from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { runOutpost, startHub, testScope } from '../helpers/outpost-process.js';
import { addIdentities, connectSas, type SasHub, type SasHubSite } from '../helpers/sas-hub.js';
import { launchChromium } from './chromium.js';

const EDGE = 'edge1';
const HUB = 'dashboard-hub.azure-devices.net';
const VIEWPORT = { width: 1280, height: 900 };
const SCREENSHOT = fileURLToPath(new URL('../../../docs/images/dashboard.png', import.meta.url));
// Test-only switch: refreshes the committed screenshot.
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';

const scope = testScope('outpost-dashboard-', after);

// any: functions passed to page.evaluate run in Chromium, where these globals exist; this
// project's TypeScript has no DOM library.
declare const document: any;

function manifest(): string {
  return JSON.stringify({
    modulesContent: {
      $edgeAgent: {
        'properties.desired': {
          schemaVersion: '1.1',
          runtime: { type: 'docker', settings: {} },
          systemModules: {},
          modules: { m: { version: '1.0', type: 'process', status: 'running', restartPolicy: 'always', settings: { process: { command: '/bin/sh', args: ['-c', 'exec sleep 600'] } } } },
        },
      },
      $edgeHub: {
        'properties.desired': {
          schemaVersion: '1.1',
          routes: {
            toSink: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/sink/inputs/in1")',
            toUpstream: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO $upstream',
          },
          storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
        },
      },
    },
  });
}

/**
 * Pixels of the chart's series colours drawn clearly above its zero line (a rate above 0). Both
 * lines count: at a steady rate out equals in and its line covers the in line.
 */
function pixelsAboveZero(page: Page, canvasId: string, colors: readonly (readonly [number, number, number])[]): Promise<number> {
  return page.evaluate(
    ([id, rgbs]) => {
      const canvas = document.getElementById(id);
      const context = canvas.getContext('2d')!;
      const ratio = canvas.width / canvas.clientWidth;
      // The zero line is PAD.bottom (18 px) above the bottom edge (chart.js); 6 px of margin.
      const zeroY = Math.floor((canvas.clientHeight - 18 - 6) * ratio);
      const data = context.getImageData(0, 0, canvas.width, zeroY).data;
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 128 && rgbs.some(([r, g, b]) => Math.abs(data[i]! - r) < 40 && Math.abs(data[i + 1]! - g) < 40 && Math.abs(data[i + 2]! - b) < 40)) count++;
      }
      return count;
    },
    [canvasId, colors] as const,
  );
}

/** The modules table row of `name`: its cells' text and the Started cell's title. */
function moduleRow(page: Page, name: string): Promise<{ cells: string[]; startedAt: string } | undefined> {
  return page.evaluate((module) => {
    for (const row of document.getElementById('modules').tBodies[0]!.rows) {
      if (row.cells[0]?.textContent === module) return { cells: [...row.cells].map((c: { textContent: string | null }) => c.textContent ?? ''), startedAt: row.cells[5]?.title ?? '' };
    }
    return undefined;
  }, name);
}

/** The in and out lines' colours (app.js). */
const RATE_COLORS = [[0x3f, 0xb9, 0x50], [0x58, 0xa6, 0xff]] as const;

describe('dashboard in Chromium', () => {
  const site: SasHubSite = { dataDir: '', hub: HUB, env: { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB } };
  let hub: SasHub;
  let httpsPort: number;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];
  const clients: mqtt.MqttClient[] = [];
  let traffic: { stop: () => Promise<void> } | undefined;

  before(async () => {
    const dir = scope.newDir();
    Object.assign(site, { dataDir: join(dir, 'data') });
    const deployment = join(dir, 'deployment.json');
    writeFileSync(deployment, manifest());
    await addIdentities(site, [['dev1'], [EDGE, '--module', 'sink']]);
    const started = await startHub({ command: 'run', dataDir: site.dataDir, args: ['--deployment', deployment], env: site.env, timeoutMs: 60_000 });
    scope.trackGraceful(started.outpost);
    hub = { outpost: started.outpost, port: started.ports.mqtt!, ca: readFileSync(String(started.ready.caFile), 'utf8') };
    httpsPort = started.ports.https!;
    await started.outpost.waitFor((line) => line.event === 'agent.module_started' && line.module === 'm', 60_000);
    browser = await launchChromium();
  });

  after(async () => {
    await traffic?.stop();
    for (const client of clients) client.end(true);
    await browser?.close();
  });

  it('refuses a browser without the operator token: the sign-in page, no figures, no event stream', async () => {
    const stranger = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT });
    try {
      const tab = await stranger.newPage();
      const response = await tab.goto(`https://localhost:${httpsPort}/dashboard`);
      assert.equal(response?.status(), 401);
      await tab.waitForSelector('#sign-in');
      assert.equal(await tab.$('#modules'), null, 'no dashboard markup before sign-in');
      const probes = await tab.evaluate(async () => {
        const status = async (path: string) => (await fetch(path, { credentials: 'same-origin' })).status;
        return { events: await status('/dashboard/events'), app: await status('/dashboard/app.js'), index: await status('/dashboard/index.html') };
      });
      assert.deepEqual(probes, { events: 401, app: 401, index: 401 });
      // A wrong token is refused with a message, and no cookie is set.
      await tab.fill('#token', 'not-the-token');
      await tab.click('button[type=submit]');
      await tab.waitForFunction(() => (document.getElementById('sign-in-error')?.textContent ?? '') !== '');
      assert.match((await tab.textContent('#sign-in-error')) ?? '', /does not match/);
      assert.deepEqual(await stranger.cookies(), []);
    } finally {
      await stranger.close();
    }
  });

  it('signs in with the link of `outpost dashboard url` and loads without console errors', async () => {
    const printed = await runOutpost(['dashboard', 'url', '--data-dir', site.dataDir, '--https-port', String(httpsPort), '--host', 'localhost'], { env: site.env });
    assert.equal(printed.code, 0, printed.stderr);
    const link = printed.stdout.trim();
    assert.match(link, new RegExp(`^https://localhost:${httpsPort}/dashboard#token=[A-Za-z0-9_-]{43}$`));
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT });
    page = await context.newPage();
    page.on('console', (message) => {
      // The sign-in page itself answers 401 (it is what an unauthenticated request gets); Chromium
      // reports that status of the document as a console error. Anything else counts.
      if (message.type() === 'error' && !(message.text().includes('status of 401') && new URL(message.location().url).pathname === '/dashboard')) consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(link);
    await page.waitForSelector('#modules');
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', undefined, { timeout: 30_000 });
    assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
    const cookie = (await context.cookies()).find((c) => c.name === 'outpost_dashboard');
    assert.ok(cookie !== undefined && cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict', JSON.stringify(cookie));
    // The first snapshot: the module, both routes, the sink's endpoint and the store on disk.
    await page.waitForFunction(() => document.querySelector('#modules tbody')?.textContent?.includes('running'), undefined, { timeout: 30_000 });
    const row = await moduleRow(page, 'm');
    assert.equal(row?.cells[2], 'running');
    const routes = await page.$$eval('#routes tbody tr', (rows) => rows.map((r) => r.querySelector('td')?.textContent));
    assert.deepEqual(routes.sort(), ['toSink', 'toUpstream']);
    assert.match((await page.textContent('#disk')) ?? '', /free of/);
    assert.deepEqual(consoleErrors, []);
  });

  it('the throughput chart rises and the queues show while MQTT traffic runs', async () => {
    assert.equal(await pixelsAboveZero(page, 'chart-rates', RATE_COLORS), 0, 'no traffic yet: the lines lie on zero');
    const sink = await connectSas(hub, site, EDGE, 'sink');
    clients.push(sink);
    await sink.subscribeAsync(`devices/${EDGE}/modules/sink/inputs/#`, { qos: 1 });
    const device = await connectSas(hub, site, 'dev1');
    clients.push(device);
    traffic = publishSteadily(device);
    await page.waitForFunction(() => Number(document.getElementById('chart-rates')?.dataset.inPerSec) > 0 && Number(document.getElementById('chart-rates')?.dataset.outPerSec) > 0, undefined, { timeout: 60_000 });
    await page.waitForFunction(() => document.getElementById('clients-protocols')?.textContent === 'MQTT2', undefined, { timeout: 30_000 });
    assert.ok((await pixelsAboveZero(page, 'chart-rates', RATE_COLORS)) > 0, 'the lines rose above zero');
    // $upstream has no link: its queue grows and its oldest message ages; the sink's route moved copies.
    await page.waitForFunction(() => [...document.querySelectorAll('#endpoints tbody tr')].some((r) => r.cells[0]?.textContent === '$upstream' && Number(r.cells[1]?.textContent) > 0), undefined, { timeout: 30_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#routes tbody tr')].some((r) => r.cells[0]?.textContent === 'toSink' && r.cells[5]?.textContent !== '0'), undefined, { timeout: 30_000 });
    await page.waitForFunction(() => (document.getElementById('lat-mean')?.textContent ?? '–') !== '–', undefined, { timeout: 30_000 });
    assert.deepEqual(consoleErrors, []);
  });

  it('shows a module restart (`outpost restart`): a new start time and one more start', async () => {
    const before = await moduleRow(page, 'm');
    assert.ok(before !== undefined && before.startedAt !== '');
    const restart = await runOutpost(['restart', 'm', '--data-dir', site.dataDir], { env: site.env, timeoutMs: 60_000 });
    assert.equal(restart.code, 0, restart.stderr);
    const startsBefore = Number(before.cells[6]);
    await page.waitForFunction(
      ([previous, starts]) => {
        for (const row of document.getElementById('modules').tBodies[0]!.rows) {
          if (row.cells[0]?.textContent === 'm') return row.cells[5]?.title !== previous && Number(row.cells[6]?.textContent) === starts + 1 && row.cells[2]?.textContent === 'running';
        }
        return false;
      },
      [before.startedAt, startsBefore] as const,
      { timeout: 60_000 },
    );
    // The committed picture shows a minute of history (only when refreshing it: nothing is asserted on it).
    if (UPDATE_SCREENSHOTS) await page.waitForFunction(() => Number(document.getElementById('chart-rates')?.dataset.points) >= 60, undefined, { timeout: 180_000 });
    const shot = join(scope.newDir(), 'dashboard.png');
    await page.screenshot({ path: shot });
    assert.deepEqual([...readFileSync(shot).subarray(1, 4)], [...Buffer.from('PNG')]);
    if (UPDATE_SCREENSHOTS) copyFileSync(shot, SCREENSHOT);
    assert.deepEqual(consoleErrors, []);
  });
});

/**
 * QoS 1 telemetry at a steady pace until stopped (a load, not a wait: nothing is timed on it).
 */
function publishSteadily(device: mqtt.MqttClient): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    let i = 0;
    while (running) {
      await device.publishAsync('devices/dev1/messages/events/', JSON.stringify({ i: i++, t: 21.5 }), { qos: 1 }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}
