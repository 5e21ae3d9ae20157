import { spawn } from 'node:child_process';
import type { ProcessHealthcheck } from '../../manifest/index.js';
import type { HealthState } from '../../plan/index.js';

/**
 * A process module's liveness probe, with Docker HEALTHCHECK semantics: the command runs every
 * interval with a timeout; exit 0 is a success. The module is `starting` until the first success,
 * `healthy` after one, and `unhealthy` after `retries` consecutive failures — failures inside the
 * start period do not count. One probe at a time; a slow probe delays the next.
 */
export class HealthProbe {
  private status: HealthState = 'starting';
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly startedAtMs = Date.now();

  constructor(
    private readonly check: ProcessHealthcheck,
    private readonly cwd: string,
    private readonly env: Readonly<Record<string, string>>,
    private readonly onChange: (status: HealthState) => void,
  ) {}

  get state(): HealthState {
    return this.status;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.runOnce().then(() => this.schedule()), this.check.intervalMs);
    this.timer.unref();
  }

  private async runOnce(): Promise<void> {
    const ok = await this.probe();
    if (this.stopped) return;
    let next: HealthState = this.status;
    if (ok) {
      this.failures = 0;
      next = 'healthy';
    } else if (Date.now() - this.startedAtMs >= this.check.startPeriodMs || this.status === 'healthy') {
      this.failures++;
      if (this.failures >= this.check.retries) next = 'unhealthy';
    }
    if (next !== this.status) {
      this.status = next;
      this.onChange(next);
    }
  }

  private probe(): Promise<boolean> {
    const [command, ...args] = this.check.command;
    return new Promise((resolve) => {
      const child = spawn(command!, args, { cwd: this.cwd, env: { ...this.env }, stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.check.timeoutMs);
      child.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
    });
  }
}
