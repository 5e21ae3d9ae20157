import type Dockerode from 'dockerode';

/**
 * podman runs container health checks from systemd timers; without systemd (this kind of
 * gateway, CI sandboxes) nothing runs them and a container stays "starting" for ever. With
 * podman, the agent triggers each check itself through libpod's healthcheck endpoint at the
 * container's own interval; Docker runs them in the daemon and this does nothing.
 * The endpoint is podman's own (/v4.0.0/libpod/…), so it goes through an unversioned modem.
 */
export class PodmanHealthDriver {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly modem: Dockerode['modem'],
    private readonly onRun: (containerId: string) => void,
  ) {}

  /** Keeps a driver for exactly these running containers (id → interval ms). */
  sync(running: ReadonlyMap<string, number>): void {
    for (const [id, timer] of this.timers) {
      if (running.has(id)) continue;
      clearTimeout(timer);
      this.timers.delete(id);
    }
    for (const [id, intervalMs] of running) if (!this.timers.has(id)) this.schedule(id, intervalMs);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(id: string, intervalMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      void this.runCheck(id, intervalMs + 30_000)
        .then(
          () => this.onRun(id),
          () => undefined,
        )
        .finally(() => {
          if (this.timers.get(id) === timer) this.schedule(id, intervalMs);
        });
    }, intervalMs);
    timer.unref();
    this.timers.set(id, timer);
  }

  private runCheck(id: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.modem.dial(
        {
          path: `/v4.0.0/libpod/containers/${id}/healthcheck`,
          method: 'GET',
          statusCodes: { 200: true },
          abortSignal: AbortSignal.timeout(timeoutMs),
        },
        // Any answer means the check ran or the container cannot run it: the caller re-inspects.
        (error) => (error === null || (error as { statusCode?: number }).statusCode !== undefined ? resolve() : reject(error)),
      );
    });
  }
}
