/**
 * Series by message sender (`deviceId`, `moduleId`, output name), resolved without building a key
 * string: three nested Map lookups, skipped entirely when the sender is the previous message's
 * (a batch usually comes from one connection). Nothing is allocated once a sender was seen; the
 * first sight calls `make` with the Azure `id` (`device` or `device/module`) and the output.
 */
export class SenderCache<S> {
  private readonly byDevice = new Map<string, Map<string, Map<string, S>>>();
  private lastDevice: string | undefined;
  private lastModule: string | undefined;
  private lastOutput: string | undefined;
  private lastSeries: S | undefined;
  private size = 0;

  constructor(private readonly make: (id: string, output: string) => S) {}

  get(deviceId: string, moduleId: string, output: string): S {
    if (deviceId === this.lastDevice && moduleId === this.lastModule && output === this.lastOutput) return this.lastSeries!;
    let byModule = this.byDevice.get(deviceId);
    if (byModule === undefined) this.byDevice.set(deviceId, (byModule = new Map()));
    let byOutput = byModule.get(moduleId);
    if (byOutput === undefined) byModule.set(moduleId, (byOutput = new Map()));
    let series = byOutput.get(output);
    if (series === undefined) {
      // The family caps its series; the cache stops remembering new senders at the same point,
      // so a client cycling through ids cannot grow it either.
      series = this.make(moduleId === '' ? deviceId : `${deviceId}/${moduleId}`, output);
      if (this.size < MAX_REMEMBERED) {
        byOutput.set(output, series);
        this.size += 1;
      }
    }
    this.lastDevice = deviceId;
    this.lastModule = moduleId;
    this.lastOutput = output;
    this.lastSeries = series;
    return series;
  }
}

const MAX_REMEMBERED = 4096;
