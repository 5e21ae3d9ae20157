import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../agent-harness.js';

/**
 * A private podman Docker-API service for one test file (settings from
 * shared/reference/container-engine-recipe.sh): its own storage under a temporary folder, two
 * tiny busybox images (localhost/edge-test:1 and :2), and the socket. Nothing under /etc changes.
 *
 * When podman is missing this throws — the docker tests then fail loudly rather than skip.
 * `scripts/install-podman.sh` (run by .ci/run and `npm test`) installs it.
 */
export interface PodmanEngine {
  readonly socketPath: string;
  readonly dir: string;
  stop(): Promise<void>;
}

const MODULE_SCRIPT = `#!/bin/sh
echo "module start: MODULE=$IOTEDGE_MODULEID FOO=$FOO VARIANT=$VARIANT"
trap 'echo "got SIGTERM"; exit 0' TERM
i=0
while [ $i -lt \${LOOPS:-600} ]; do echo "tick $i"; i=$((i+1)); sleep 1 & wait $!; done
exit \${EXIT_CODE:-0}
`;

export interface PodmanOptions {
  /** host:port of registries reached over plain HTTP (a test registry on the loopback). */
  readonly insecureRegistries?: readonly string[];
}

export async function startPodman(options: PodmanOptions = {}): Promise<PodmanEngine> {
  const which = spawnSync('sh', ['-c', 'command -v podman && command -v runc && test -x /bin/busybox'], { encoding: 'utf8' });
  if (which.status !== 0) {
    throw new Error('podman, runc or busybox-static is not installed: run `bash scripts/install-podman.sh` (needs root). The docker runtime tests need a real container engine.');
  }
  const dir = tempDir('pm-');
  const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'), CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf') };
  // Read once by the service: test registries must be listed before it starts.
  writeFileSync(env.CONTAINERS_REGISTRIES_CONF, (options.insecureRegistries ?? []).map((location) => `[[registry]]\nlocation = "${location}"\ninsecure = true\n`).join('\n'));
  writeFileSync(env.CONTAINERS_STORAGE_CONF, `[storage]\ndriver = "vfs"\nrunroot = "${dir}/run"\ngraphroot = "${dir}/graph"\n`);
  const hardNofile = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  writeFileSync(
    env.CONTAINERS_CONF,
    [
      '[containers]',
      'log_driver = "k8s-file"',
      // No CAP_SYS_RESOURCE here, and podman caps its own NPROC at 32768: pin both limits.
      `default_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=32768:32768"]`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'tmp'));
  mkdirSync(join(rootfs, 'etc'));
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const applet of ['sh', 'echo', 'sleep', 'env', 'cat', 'true', 'false', 'test']) symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(join(rootfs, 'bin', 'mod.sh'), MODULE_SCRIPT);
  chmodSync(join(rootfs, 'bin', 'mod.sh'), 0o755);
  execFileSync('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
  for (const [tag, variant] of [['1', 'one'], ['2', 'two']] as const) {
    execFileSync('podman', ['import', '--change', 'CMD ["/bin/mod.sh"]', '--change', 'ENV PATH=/bin', '--change', `ENV VARIANT=${variant}`, join(dir, 'rootfs.tar'), `localhost/edge-test:${tag}`], { env, stdio: 'ignore' });
  }
  const socketPath = join(dir, 'podman.sock');
  const service: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], { env, stdio: 'ignore' });
  await waitForPing(socketPath, service, 20_000);
  return {
    socketPath,
    dir,
    async stop() {
      // Containers outlive the service (conmon): remove them through the API first.
      await removeAllContainers(socketPath).catch(() => undefined);
      service.kill('SIGTERM');
      if (service.exitCode === null) await new Promise((resolve) => service.once('exit', resolve));
      spawnSync('podman', ['rm', '--all', '--force', '--time', '0'], { env, stdio: 'ignore' });
      // Podman's helpers (conmon, its cleanup process) may still be writing under graph/ for a
      // moment after the service exits: retry (ENOTEMPTY once failed a CI run here), then give up
      // on a temporary directory rather than fail the suite over it.
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
      } catch (error) {
        process.stderr.write(`podman-engine: could not remove ${dir}: ${String(error)}\n`);
      }
    },
  };
}

function get(socketPath: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitForPing(socketPath: string, service: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.exitCode !== null) throw new Error(`podman system service exited with ${service.exitCode}`);
    if (existsSync(socketPath)) {
      const answer = await get(socketPath, 'GET', '/_ping').catch(() => undefined);
      if (answer?.status === 200) return;
    }
    // Poll the socket with a deadline: the service gives no other signal that it is ready.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`podman's Docker API did not answer on ${socketPath} within ${timeoutMs} ms`);
}

async function removeAllContainers(socketPath: string): Promise<void> {
  const list = await get(socketPath, 'GET', '/v1.41/containers/json?all=1');
  for (const { Id } of JSON.parse(list.body) as { Id: string }[]) await get(socketPath, 'DELETE', `/v1.41/containers/${Id}?force=1`);
}

/** Raw Docker API calls for assertions. */
export async function dockerApi<T>(socketPath: string, method: string, path: string): Promise<{ status: number; body: T }> {
  const answer = await get(socketPath, method, `/v1.41${path}`);
  return { status: answer.status, body: (answer.body === '' ? undefined : JSON.parse(answer.body)) as T };
}
