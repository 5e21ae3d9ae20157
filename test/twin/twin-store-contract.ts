/**
 * The twin contract, run against both stores (RocksDB and memory) through the TwinService: what a
 * device, a module and the operator see, whatever keeps the twins.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/log/index.js';
import type { HubMessage } from '../../src/hub/message/index.js';
import { IotHubErrorCode, MAX_UNFOLDED_PATCHES, MemoryTwinStore, mergePatch, RocksTwinStore, TwinService, TwinStatus, type DesiredNotification, type TwinProperties, type TwinStore } from '../../src/hub/twin/index.js';
import { tempDir } from '../helpers/outpost-process.js';

export type TwinBackend = 'rocksdb' | 'memory';

const logger = createLogger({ level: 'silent' });

export class RecordingSink {
  readonly messages: HubMessage[] = [];
  async submit(message: HubMessage): Promise<void> {
    this.messages.push(message);
  }
}

export function twinStoreContract(backend: TwinBackend): void {
  describe(`twin contract (${backend})`, () => {
    const dirs: { remove(): void }[] = [];
    const services: TwinService[] = [];
    after(async () => {
      for (const service of services) await service.close().catch(() => undefined);
      for (const dir of dirs) dir.remove();
    });

    async function openStore(path?: string): Promise<{ store: TwinStore; path: string }> {
      let dirPath = path;
      if (dirPath === undefined) {
        const dir = tempDir('outpost-twin-store-');
        dirs.push(dir);
        dirPath = dir.path;
      }
      const store = backend === 'rocksdb' ? new RocksTwinStore(dirPath, logger) : new MemoryTwinStore();
      await store.open();
      return { store, path: dirPath };
    }

    async function open(sink = new RecordingSink()): Promise<{ twins: TwinService; sink: RecordingSink; store: TwinStore; path: string }> {
      const { store, path } = await openStore();
      const twins = new TwinService({ store, logger, sink, hubName: 'myhub' });
      services.push(twins);
      return { twins, sink, store, path };
    }

    it('starts every twin empty at version 1 and merges reported patches, null deleting, one version per patch', async () => {
      const { twins } = await open();
      const first = await twins.get('dev1');
      assert.ok(first.ok);
      assert.deepEqual({ desired: first.twin.desired, reported: first.twin.reported }, { desired: { $version: 1 }, reported: { $version: 1 } });
      assert.deepEqual(await twins.patchReported('dev1', { a: 1, nested: { x: 'y', z: [1, 2] } }), { ok: true, version: 2 });
      assert.deepEqual(await twins.patchReported('dev1', { nested: { x: null, w: true }, b: 'two' }), { ok: true, version: 3 });
      const got = await twins.get('dev1');
      assert.ok(got.ok);
      assert.deepEqual(got.twin.reported, { a: 1, nested: { z: [1, 2], w: true }, b: 'two', $version: 3 });
      assert.equal(got.twin.version, 3);
      // Modules have twins of their own.
      assert.deepEqual(await twins.patchReported('dev1/mod', { m: 1 }), { ok: true, version: 2 });
      const moduleTwin = await twins.get('dev1/mod');
      assert.ok(moduleTwin.ok);
      assert.deepEqual(moduleTwin.twin.reported, { m: 1, $version: 2 });
    });

    it('refuses each invalid patch with 400 and a reason, and changes nothing', async () => {
      const { twins, sink } = await open();
      await twins.patchReported('dev1', { keep: 1 });
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 10; i++) deep = { n: deep };
      const cases: [unknown, RegExp][] = [
        [[1, 2], /JSON object/],
        ['text', /JSON object/],
        [null, /JSON object/],
        [{ 'a.b': 1 }, /'\.'/],
        [{ $version: 5 }, /"\$"/],
        [{ 'a b': 1 }, /" "/],
        [{ 'a#': 1 }, /"#"/],
        [{ 'a\u0001': 1 }, /control/],
        [{ ['k'.repeat(1025)]: 1 }, /longer than 1024 bytes/],
        [{ s: 'é'.repeat(2049) }, /4098 bytes; at most 4096/],
        [{ n: 2 ** 52 }, /out of range/],
        [{ a: [1, null] }, /arrays cannot hold null/],
        [{ a: [{ b: null }] }, /cannot be null/],
        [{ n: deep }, /deeper than 10/],
        [{ big: Array.from({ length: 10 }, () => 'x'.repeat(4000)) }, /patch is \d+ bytes; at most 32768/],
      ];
      for (const [patch, reason] of cases) {
        const result = await twins.patchReported('dev1', patch);
        assert.equal(result.ok, false, `accepted ${JSON.stringify(patch).slice(0, 60)}`);
        if (result.ok) continue;
        assert.equal(result.status, TwinStatus.BadRequest);
        assert.equal(result.errorCode, 400004);
        assert.match(result.reason, reason);
        const desired = await twins.updateDesired('dev1', patch);
        assert.equal(desired.ok, false, `desired accepted ${JSON.stringify(patch).slice(0, 60)}`);
      }
      // Ten levels are allowed.
      let ten: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 9; i++) ten = { n: ten };
      assert.equal((await twins.patchReported('dev1', { n: ten })).ok, true);
      // A section may not grow past 32 KB even from small patches.
      for (let i = 0; i < 7; i++) assert.equal((await twins.patchReported('dev1', { [`k${i}`]: 'v'.repeat(4000) })).ok, true);
      const over = await twins.patchReported('dev1', { k7: 'v'.repeat(4000), k8: 'v'.repeat(4000) });
      assert.equal(over.ok, false);
      if (!over.ok) assert.match(over.reason, /reported properties would be \d+ bytes; at most 32768/);
      const got = await twins.get('dev1');
      assert.ok(got.ok);
      assert.equal(got.twin.reported.$version, 10, 'only the accepted patches counted');
      assert.equal(got.twin.desired.$version, 1);
      assert.equal(sink.messages.length, 9, 'no notification for a refused patch');
    });

    it('keeps a key named __proto__ as plain data', async () => {
      const { twins } = await open();
      const patch = JSON.parse('{"__proto__": {"polluted": 1}, "x": 1}') as unknown;
      assert.equal((await twins.patchReported('dev1', patch)).ok, true);
      const got = await twins.get('dev1');
      assert.ok(got.ok);
      assert.equal(JSON.stringify(got.twin.reported), '{"__proto__":{"polluted":1},"x":1,"$version":2}');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('runs the patches of one twin in order, and many twins at once', async () => {
      const { twins } = await open();
      const results = await Promise.all(Array.from({ length: 200 }, (_, n) => twins.patchReported(`dev${n % 5}`, { n })));
      for (let n = 0; n < 200; n++) assert.deepEqual(results[n], { ok: true, version: Math.floor(n / 5) + 2 });
      for (let d = 0; d < 5; d++) {
        const got = await twins.get(`dev${d}`);
        assert.ok(got.ok);
        assert.deepEqual(got.twin.reported, { n: 195 + d, $version: 41 });
      }
    });

    it('notifies desired subscribers after the change, and sends what a client missed when it subscribes again', async () => {
      const { twins } = await open();
      const seen: DesiredNotification[] = [];
      const baseline = await twins.getForClient('dev1');
      assert.ok(baseline.ok);
      let unsubscribe = twins.subscribeDesired('dev1', (n) => (seen.push(n), true));
      assert.deepEqual(await twins.updateDesired('dev1', { interval: 30, mode: 'fast', nested: { a: 1, b: 2 } }), { ok: true, version: 2 });
      assert.deepEqual<unknown>(seen, [{ version: 2, patch: { interval: 30, mode: 'fast', nested: { a: 1, b: 2 }, $version: 2 } }]);
      unsubscribe();
      // Offline: two changes, one removing keys.
      await twins.updateDesired('dev1', { mode: null, nested: { b: null, c: 3 } });
      await twins.updateDesired('dev1', { interval: 60 });
      assert.equal(seen.length, 1);
      unsubscribe = twins.subscribeDesired('dev1', (n) => (seen.push(n), true));
      await twins.get('dev1'); // runs after the catch-up on the same twin
      assert.deepEqual<unknown>(seen[1], { version: 4, patch: { mode: null, nested: { b: null, c: 3 }, interval: 60, $version: 4 } });
      // Nothing more to send on the next subscription.
      unsubscribe();
      twins.subscribeDesired('dev1', (n) => (seen.push(n), true));
      await twins.get('dev1');
      assert.equal(seen.length, 2);
    });

    it('does not count a notification the client could not take as received', async () => {
      const { twins } = await open();
      await twins.getForClient('dev1');
      const unsubscribe = twins.subscribeDesired('dev1', () => false);
      await twins.updateDesired('dev1', { a: 1 });
      unsubscribe();
      const seen: DesiredNotification[] = [];
      twins.subscribeDesired('dev1', (n) => (seen.push(n), true));
      await twins.get('dev1');
      assert.deepEqual<unknown>(seen, [{ version: 2, patch: { a: 1, $version: 2 } }]);
    });

    it('submits twin change notifications in IoT Hub\'s shape for reported and desired changes', async () => {
      const { twins, sink } = await open();
      await twins.patchReported('dev1/mod', { temp: 20 });
      await twins.updateDesired('dev1/mod', { target: 22 });
      assert.equal(sink.messages.length, 2);
      const [reported, desired] = sink.messages;
      assert.equal(reported!.source, '/twinChangeNotifications/');
      assert.deepEqual(JSON.parse(Buffer.from(reported!.body).toString()), { version: 2, properties: { reported: { temp: 20, $version: 2 } } });
      assert.deepEqual(JSON.parse(Buffer.from(desired!.body).toString()), { version: 3, properties: { desired: { target: 22, $version: 2 } } });
      assert.equal(reported!.properties['iothub-message-schema'], 'twinChangeNotification');
      assert.equal(reported!.properties.opType, 'updateTwin');
      assert.equal(reported!.properties.hubName, 'myhub');
      assert.equal(reported!.properties.deviceId, 'dev1');
      assert.equal(reported!.properties.moduleId, 'mod');
      assert.equal(reported!.systemProperties.connectionDeviceId, 'dev1');
      assert.equal(reported!.systemProperties.connectionModuleId, 'mod');
      assert.equal(reported!.systemProperties.contentType, 'application/json');
    });

    it('keeps reported patches for the upstream folded: 5,000 are one stored entry, keys reset in turn stay a few, and an answer drops those up to its version', async () => {
      const { twins } = await open();
      twins.keepReportedForUpstream();
      let expected: TwinProperties = {};
      for (let n = 1; n <= 5_000; n++) {
        const patch = { reading: n, [`k${n % 7}`]: { at: n, [`n${n % 5}`]: n % 3 === 0 ? null : n } };
        assert.ok((await twins.patchReported('dev1', patch)).ok);
        expected = mergePatch(expected, patch);
      }
      let pending = (await twins.pendingReported()).get('dev1')!;
      assert.deepEqual(pending.map((entry) => [entry.from, entry.version]), [[2, 5_001]], 'one folded entry');
      assert.deepEqual(mergePatch({}, pending[0]!.patch), expected);
      const upstream = mergePatch({}, pending[0]!.patch);
      await twins.reportedSynced('dev1', 5_001);
      assert.equal((await twins.pendingReported()).get('dev1'), undefined);

      // Keys removed (or set to a number) and then set to an object, in turn: no two of these fold.
      for (let n = 1; n <= 5_000; n++) {
        const key = `k${n % 7}`;
        const patch = n % 2 === 0 ? { [key]: n % 4 === 0 ? null : n } : { [key]: { fresh: n } };
        assert.ok((await twins.patchReported('dev1', patch)).ok);
        expected = mergePatch(expected, patch);
      }
      pending = (await twins.pendingReported()).get('dev1')!;
      assert.ok(pending.length <= MAX_UNFOLDED_PATCHES, `${pending.length} stored entries`);
      assert.deepEqual(pending.reduce((twin, entry) => mergePatch(twin, entry.patch), upstream), expected, 'the stored entries, applied where the first 5,000 were, end at the section here');
      const got = await twins.get('dev1');
      assert.ok(got.ok);
      assert.deepEqual(mergePatch({}, got.twin.reported), expected);
      await twins.reportedSynced('dev1', pending[pending.length - 1]!.version - 1);
      assert.ok((await twins.pendingReported()).get('dev1') !== undefined, 'not all answered yet');
      await twins.reportedSynced('dev1', 10_001);
      assert.equal((await twins.pendingReported()).get('dev1'), undefined);
    });

    it('mirrors an upstream\'s desired patch only on the version it follows: one that skips or repeats a version is 412 and changes nothing', async () => {
      const { twins } = await open();
      const seen: DesiredNotification[] = [];
      twins.subscribeDesired('dev1', (n) => (seen.push(n), true));
      assert.deepEqual(await twins.mirrorDesired('dev1', { section: { a: 1, $version: 7 } }, 7), { ok: true, version: 7 });
      const skipped = await twins.mirrorDesired('dev1', { patch: { b: 1 } }, 9);
      assert.equal(skipped.ok, false);
      assert.equal(!skipped.ok && skipped.status, TwinStatus.PreconditionFailed);
      assert.equal(!skipped.ok && skipped.errorCode, IotHubErrorCode.PreconditionFailed);
      const repeated = await twins.mirrorDesired('dev1', { patch: { c: 1 } }, 7);
      assert.equal(!repeated.ok && repeated.status, TwinStatus.PreconditionFailed);
      assert.deepEqual(await twins.mirrorDesired('dev1', { patch: { d: 1 } }, 8), { ok: true, version: 8 });
      const got = await twins.get('dev1');
      assert.ok(got.ok);
      assert.deepEqual(got.twin.desired, { a: 1, d: 1, $version: 8 });
      assert.deepEqual(seen.map((n) => n.patch), [{ a: 1, $version: 7 }, { d: 1, $version: 8 }]);
    });

    if (backend === 'rocksdb') {
      it('keeps twins, versions and what clients received across a close and reopen', async () => {
        const { twins, path } = await open();
        await twins.getForClient('dev1');
        await twins.patchReported('dev1', { kept: true });
        await twins.updateDesired('dev1', { d: 1 });
        await twins.close();
        services.splice(services.indexOf(twins), 1);
        const { store } = await openStore(path);
        assert.deepEqual(await store.ids(), ['dev1']);
        const reopened = new TwinService({ store, logger, hubName: 'myhub' });
        services.push(reopened);
        const got = await reopened.get('dev1');
        assert.ok(got.ok);
        assert.deepEqual(got.twin.reported, { kept: true, $version: 2 });
        assert.deepEqual(got.twin.desired, { d: 1, $version: 2 });
        const seen: DesiredNotification[] = [];
        reopened.subscribeDesired('dev1', (n) => (seen.push(n), true));
        await reopened.get('dev1');
        assert.deepEqual<unknown>(seen, [{ version: 2, patch: { d: 1, $version: 2 } }], 'the change made before the restart, never received, is sent');
        await reopened.remove('dev1');
        assert.deepEqual(await store.ids(), []);
      });
    }
  });
}
