/**
 * TwinSync (src/hub/upstream/twin-sync.ts): the re-pull on attach once per minTwinSyncPeriod per
 * twin, deferred (not skipped) inside the period, and a client's GET that does not wait for links
 * that cannot come (link down, no key for the identity).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { TwinSync, type SyncedTwin } from '../../src/hub/upstream/twin-sync.js';

function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('TwinSync', () => {
  it('re-pulls on the first attach and after the period; inside it defers to the end of the period, once', () => {
    const { logger, lines } = recordingLogger();
    let nowMs = 1_000_000;
    const sync = new TwinSync({ minPeriodMs: 120_000, getTimeoutMs: 1000, connected: () => true, canRelay: () => true, logger, now: () => nowMs });
    try {
      assert.equal(sync.shouldRepull('dev1'), true);
      nowMs += 30_000;
      assert.equal(sync.shouldRepull('dev1'), false);
      assert.equal(sync.shouldRepull('dev2'), true, 'per twin');
      nowMs += 10_000;
      assert.equal(sync.shouldRepull('dev1'), false);
      const deferred = lines.filter((line) => line.event === 'upstream.twin_sync_deferred');
      assert.deepEqual(deferred.map((line) => [line.twinId, line.inMs]), [['dev1', 90_000]], 'one deferred re-pull, due at the end of the period');
      nowMs += 80_000;
      assert.equal(sync.shouldRepull('dev1'), true, 'the period has passed');
    } finally {
      sync.close();
    }
  });

  it('answers a GET from the copy at once when the link is down or the identity cannot be relayed, and asks a ready twin otherwise', async () => {
    const { logger, lines } = recordingLogger();
    let connected = false;
    const sync = new TwinSync({ minPeriodMs: 0, getTimeoutMs: 60_000, connected: () => connected, canRelay: (id) => id !== 'x509dev', logger });
    try {
      const started = Date.now();
      assert.equal(await sync.fetchDesired('dev1'), undefined);
      connected = true;
      assert.equal(await sync.fetchDesired('x509dev'), undefined);
      assert.ok(Date.now() - started < 5_000, 'neither waited for the 60 s GET timeout');
      assert.deepEqual(lines.filter((l) => l.event === 'upstream.twin_get_local').map((l) => l.reason), ['disconnected', 'no_credentials']);
      const twin: SyncedTwin = { repull: async () => true, getDesired: async () => ({ a: 1, $version: 4 }) };
      const asked = sync.fetchDesired('dev1');
      sync.ready('dev1', twin);
      assert.deepEqual(await asked, { a: 1, $version: 4 }, 'a GET while the links attach waits for them');
    } finally {
      sync.close();
    }
  });

  it('re-pulls at once for a desired patch out of order, inside the period too: one at a time, one more if asked again meanwhile', async () => {
    const { logger } = recordingLogger();
    const sync = new TwinSync({ minPeriodMs: 600_000, getTimeoutMs: 1000, connected: () => true, canRelay: () => true, logger });
    try {
      assert.equal(sync.shouldRepull('dev1'), true);
      assert.equal(sync.shouldRepull('dev1'), false, 'inside the period: the attach defers its re-pull');
      const answers: Array<(ok: boolean) => void> = [];
      let repulls = 0;
      const twin: SyncedTwin = {
        repull: () => {
          repulls++;
          return new Promise((resolve) => answers.push(resolve));
        },
        getDesired: async () => undefined,
      };
      sync.outOfOrder('dev1', twin);
      sync.outOfOrder('dev1', twin);
      sync.outOfOrder('dev1', twin);
      assert.equal(repulls, 1, 'one at a time');
      answers.shift()!(true);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(repulls, 2, 'the patches out of order while it ran ask for one more, once');
      answers.shift()!(true);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(repulls, 2);
      sync.outOfOrder('dev1', twin);
      assert.equal(repulls, 3, 'a later patch out of order re-pulls again');
      sync.outOfOrder('dev1', twin);
      answers.shift()!(false);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(repulls, 3, 'a failed re-pull is not retried here (its links are dropped and attach again)');
    } finally {
      sync.close();
    }
  });
});
