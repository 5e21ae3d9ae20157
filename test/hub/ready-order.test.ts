import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startHub, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';

// `hub.ready` means every surface answers: operators' scripts and the tests' harnesses call the
// control socket (`outpost twin`, `method`, `c2d`, `check`) as soon as they see it. It used to be
// logged when the listeners were bound, before the workload and control sockets opened.
describe('hub.ready', () => {
  const dir = tempDir();
  let outpost: OutpostProcess | undefined;
  after(async () => {
    await stopQuietly(outpost);
    dir.remove();
  });

  it('is logged after the control and workload sockets listen', async () => {
    const started = await startHub({ dataDir: dir.path });
    outpost = started.outpost;
    const events = outpost.lines.map((line) => line.event);
    const ready = events.indexOf('hub.ready');
    for (const before of ['hub.control_listening', 'workload.listening']) {
      const at = events.indexOf(before);
      assert.ok(at >= 0 && at < ready, `${before} (line ${at}) comes before hub.ready (line ${ready}); events: ${events.join(', ')}`);
    }
  });
});
