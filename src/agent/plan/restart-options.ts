/** The knobs of restart supervision (config agent.*), in milliseconds. */
export interface RestartOptions {
  /** agent.restartBackoffBase: Azure's CoolOffTimeUnitInSeconds (10 s). */
  readonly backoffBaseMs: number;
  /** agent.restartBackoffMax: Azure's MaxCoolOffPeriodSecs (300 s). */
  readonly backoffMaxMs: number;
  /** agent.maxRestartCount: 0 = never give up (Azure: 20). */
  readonly maxRestartCount: number;
  /** agent.healthyResetAfter: Azure's IntensiveCareTimeInMinutes (10 min). */
  readonly healthyResetMs: number;
}

export const AZURE_RESTART_OPTIONS: RestartOptions = { backoffBaseMs: 10_000, backoffMaxMs: 300_000, maxRestartCount: 0, healthyResetMs: 600_000 };

/** min(base × 2^restarts, max): 10, 20, 40, 80, 160, 300, 300 … seconds with Azure's numbers. */
export function coolOffMs(restartCount: number, options: RestartOptions): number {
  // 2^n overflows to Infinity past n≈1023; min() still gives the cap.
  return Math.min(options.backoffBaseMs * 2 ** restartCount, options.backoffMaxMs);
}
