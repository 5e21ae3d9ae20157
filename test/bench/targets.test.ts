// The harness's port picking: the ports a target is given are distinct and free to bind.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePorts } from '../../bench/lib/targets.js';

describe('bench targets: freePorts', () => {
  it('gives distinct ports, each free to bind once it returns', async () => {
    for (let round = 0; round < 20; round++) {
      const ports = await freePorts(3);
      assert.equal(new Set(ports).size, 3, `distinct: ${ports.join(', ')}`);
      for (const port of ports) {
        assert.ok(Number.isInteger(port) && port > 0, `a port: ${port}`);
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', resolve);
        });
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  });
});
