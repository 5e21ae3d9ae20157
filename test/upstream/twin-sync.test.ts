/**
 * TwinSync (src/hub/upstream/twin-sync.ts): the re-pull on attach once per minTwinSyncPeriod per
 * twin, deferred (not skipped) inside the period, a failed re-pull tried again with backoff, and a
 * client's GET that does not wait for links that cannot come (link down, no key for the identity).
 * And the MQTT twin's use of it when its re-pull on connection fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { MqttTwin } from '../../src/hub/upstream/mqtt/mqtt-twin.js';
import type { MqttIdentityConnection } from '../../src/hub/upstream/mqtt/mqtt-identity-connection.js';
import { ReportedOutbox } from '../../src/hub/upstream/reported-outbox.js';
import { TwinSync, type SyncedTwin } from '../../src/hub/upstream/twin-sync.js';
import type { TwinService } from '../../src/hub/twin/index.js';
import { until } from '../helpers/eventually.js';

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
      assert.equal(repulls, 3, 'a failed re-pull is not retried at once (the retry waits, and only for a relay still the twin\'s)');
    } finally {
      sync.close();
    }
  });

  it("tries a failed re-pull again, each time twice as late, while the relay is the twin's, and not once its links are gone", async () => {
    const { logger, lines } = recordingLogger();
    const sync = new TwinSync({ minPeriodMs: 600_000, getTimeoutMs: 1000, connected: () => true, canRelay: () => true, logger, repullRetryMs: 20 });
    try {
      const outcomes = [false, false, true];
      let repulls = 0;
      const twin: SyncedTwin = { repull: async () => outcomes[repulls++] ?? true, getDesired: async () => undefined };
      sync.ready('dev1', twin);
      sync.repullFailed('dev1', twin);
      sync.repullFailed('dev1', twin);
      await until(() => repulls === 3, 5_000, 'three retries');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(repulls, 3, 'none after the one that worked');
      const failed = lines.filter((line) => line.event === 'upstream.twin_repull_failed');
      assert.deepEqual(failed.map((line) => line.retryInMs), [20, 40, 80], 'one retry waiting at a time, each twice as late');
      assert.equal(failed[0]!.code, 'OUTPOST_UPSTREAM_TWIN_SYNC_FAILED');

      // After a success the next failure starts again from the first delay; a relay that is gone is not retried.
      let gone = 0;
      const other: SyncedTwin = { repull: async () => (gone++, false), getDesired: async () => undefined };
      sync.ready('dev1', other);
      sync.repullFailed('dev1', other);
      assert.equal(lines.filter((line) => line.event === 'upstream.twin_repull_failed').at(-1)!.retryInMs, 20);
      sync.gone('dev1', other);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(gone, 0, 'its links went before the retry: the next attach re-pulls instead');
    } finally {
      sync.close();
    }
  });

  it('a failed re-pull for a patch out of order is tried again later on the same relay', async () => {
    const { logger } = recordingLogger();
    const sync = new TwinSync({ minPeriodMs: 600_000, getTimeoutMs: 1000, connected: () => true, canRelay: () => true, logger, repullRetryMs: 20 });
    try {
      let repulls = 0;
      const twin: SyncedTwin = { repull: async () => ++repulls > 1, getDesired: async () => undefined };
      sync.ready('dev1', twin);
      sync.outOfOrder('dev1', twin);
      await until(() => repulls === 2, 5_000, 'the retry');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(repulls, 2);
    } finally {
      sync.close();
    }
  });
});

describe('MqttTwin', () => {
  it('a re-pull on connection that fails does not hold the reported patches back, and is tried again on the same connection', async () => {
    const { logger, lines } = recordingLogger();
    const sync = new TwinSync({ minPeriodMs: 600_000, getTimeoutMs: 1000, connected: () => true, canRelay: () => true, logger, repullRetryMs: 20 });
    const sent: string[] = [];
    const mirrored: unknown[] = [];
    let twin: MqttTwin | undefined;
    let gets = 0;
    // The parent's side of the identity's MQTT connection, as far as the twin uses it: the first GET
    // is answered 500 (throttled or failing), the next 200 with the desired section; patches 204.
    const connection = {
      connected: true,
      send(topic: string, body: string): boolean {
        sent.push(topic);
        const rid = new URLSearchParams(topic.slice(topic.indexOf('?') + 1)).get('$rid')!;
        if (topic.startsWith('$iothub/twin/GET/')) {
          gets += 1;
          const answer = gets === 1 ? ['500', '{}'] : ['200', JSON.stringify({ desired: { speed: 3, $version: 7 }, reported: { $version: 1 } })];
          setImmediate(() => twin!.received(`$iothub/twin/res/${answer[0]}/?$rid=${rid}`, Buffer.from(answer[1]!)));
        } else {
          assert.equal(JSON.parse(body).temp, 21);
          setImmediate(() => twin!.received(`$iothub/twin/res/204/?$rid=${rid}&$version=2`, Buffer.alloc(0)));
        }
        return true;
      },
    };
    const twins = {
      mirrorDesired: async (_twinId: string, patch: { section: unknown }) => {
        mirrored.push(patch.section);
        return { ok: true };
      },
      reportedSynced: async () => undefined,
    };
    const outbox = new ReportedOutbox();
    outbox.add({ temp: 21 }, 2);
    twin = new MqttTwin({ twinId: 'dev1', connection: connection as unknown as MqttIdentityConnection, twins: twins as unknown as TwinService, outbox, sync, logger });
    try {
      await twin.up();
      assert.ok(sent.some((topic) => topic.startsWith('$iothub/twin/PATCH/properties/reported/')), `the reported patch went after the failed GET: ${JSON.stringify(sent)}`);
      await until(() => outbox.empty, 5_000, 'the patch answered');
      await until(() => mirrored.length === 1, 5_000, 'the retried GET mirrored');
      assert.deepEqual(mirrored, [{ speed: 3, $version: 7 }]);
      assert.equal(gets, 2);
      assert.deepEqual(lines.filter((line) => line.event === 'upstream.twin_repull_failed').map((line) => line.twinId), ['dev1']);
    } finally {
      sync.close();
    }
  });
});
