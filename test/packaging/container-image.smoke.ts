/**
 * The container image (issue 15): packaging/build-image.sh assembles the packed tarball installed
 * with --omit=dev and the host's node into a root filesystem and builds packaging/Containerfile
 * with podman; the image runs as its user with the data volume and the certificate volume, reaches
 * hub.ready on its documented ports and stops gracefully on `podman stop`.
 *
 * Not a *.test.ts file: .ci/run runs it on its own (`node --test
 * dist/test/packaging/container-image.smoke.js`) with a longer limit than the suite's 2 minutes
 * per file, because an npm install plus a podman build (vfs storage copies the ~150 MB root file
 * system twice) takes 40-60 s on a quiet 2-core machine and several times that when the machine
 * is shared.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnOutpost, stopQuietly, type OutpostProcess } from '../helpers/outpost-process.js';
import { packAndInstall, REPO_ROOT, type PackedInstall } from './install-tarball.js';

const BUILD_IMAGE = join(REPO_ROOT, 'packaging', 'build-image.sh');
/** The image's user (packaging/build-image.sh). */
const IMAGE_UID = 10001;

let install: PackedInstall;
const running: OutpostProcess[] = [];
before(() => {
  install = packAndInstall();
}, { timeout: 240_000 });
after(async () => {
  await Promise.all(running.map(stopQuietly));
  install?.remove();
});

function newDir(name: string, uid = 0): string {
  const dir = join(install.dir, name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chownSync(dir, uid, uid);
  return dir;
}

describe('container image (packaging/Containerfile)', () => {
  it('builds with podman and runs as its user, with the data and certificate volumes', async () => {
    const podman = podmanEnv(newDir('podman'));
    const tag = `localhost/outpost-test:${process.pid}`;
    try {
      execFileSync('bash', [BUILD_IMAGE, install.prefix, tag], { env: podman, stdio: ['ignore', 'ignore', 'pipe'] });
      const dataDir = newDir('image-data', IMAGE_UID);
      // Operator certificates on the read-only certificate volume (a self-signed one stands in).
      const certs = newDir('image-certs');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-days', '2',
        '-keyout', join(certs, 'server.key.pem'), '-out', join(certs, 'server.pem')], { stdio: 'ignore' });
      chownSync(join(certs, 'server.key.pem'), IMAGE_UID, IMAGE_UID);
      const name = `outpost-test-${process.pid}`;
      const outpost = spawnOutpost([], {
        command: [
          'podman', 'run', '--rm', '--name', name, '--network', 'none',
          '-v', `${dataDir}:/var/lib/outpost`, '-v', `${certs}:/etc/outpost/certs:ro`,
          '-e', 'OUTPOST_TLS__CERT_FILE=/etc/outpost/certs/server.pem', '-e', 'OUTPOST_TLS__KEY_FILE=/etc/outpost/certs/server.key.pem',
          tag,
        ],
        env: podman,
      });
      running.push(outpost);
      const ready = await outpost.waitFor((line) => line.event === 'hub.ready', 90_000);
      assert.deepEqual(ready.ports, { mqtt: 8883, amqp: 5671, https: 8443, mqttPlain: null });
      assert.equal(ready.certificateSource, 'operator');
      assert.ok(existsSync(join(dataDir, 'store', 'store.json')), 'the store is on the data volume');
      assert.ok(existsSync(join(dataDir, 'identities')), 'identities are on the data volume');
      const stop = spawnSync('podman', ['stop', '--time', '30', name], { env: podman, encoding: 'utf8' });
      assert.equal(stop.status, 0, stop.stderr);
      assert.equal(await outpost.exited(40_000), 0, 'podman stop (SIGTERM) is a graceful stop');
      assert.ok(outpost.lines.some((line) => line.event === 'runtime.stopped'));
    } finally {
      spawnSync('podman', ['rmi', '--force', tag], { env: podman, stdio: 'ignore' });
    }
  });
});

/** podman's settings for this sandbox (shared/reference/container-engine-recipe.sh), private to the test. */
function podmanEnv(dir: string): Record<string, string> {
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'), CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf') };
  writeFileSync(env.CONTAINERS_REGISTRIES_CONF, '');
  writeFileSync(env.CONTAINERS_STORAGE_CONF, `[storage]\ndriver = "vfs"\nrunroot = "${dir}/run"\ngraphroot = "${dir}/graph"\n`);
  const hardNofile = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  writeFileSync(
    env.CONTAINERS_CONF,
    `[containers]\nlog_driver = "k8s-file"\ndefault_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=32768:32768"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n`,
  );
  return env;
}

