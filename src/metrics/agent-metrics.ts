import { arch, cpus, freemem, platform, release, totalmem, uptime } from 'node:os';
import type { CommandObserver, ReportedProperties } from '../agent/index.js';
import { diskOf } from './disk-of.js';
import type { Counter, Gauge, ValueSeries } from './metric-family.js';
import { MS_TELEMETRY } from './hub-metrics.js';
import type { MetricsRegistry } from './metrics-registry.js';

type Command = Parameters<CommandObserver['commandDone']>[0];

/** What the agent's metrics read at scrape time. */
export interface AgentFigures {
  /** The agent's reported properties (module status), when it runs in this process. */
  readonly reported: () => ReportedProperties | undefined;
  readonly dataDir: string;
  /** `edgeHub` when the hub runs in this process, else `edgeAgent`: the module_name of this process's memory. */
  readonly processModuleName: string;
  readonly version: string;
}

/**
 * The edge agent's metrics under Azure's names (edgeAgent_…, docs/metrics.md). Commands are counted
 * as the plan runner runs them; host figures (disk, memory, uptime) are read at scrape time, not
 * sampled every 5 minutes as Azure does.
 */
export class AgentMetrics implements CommandObserver {
  private readonly moduleStart: Counter;
  private readonly moduleStop: Counter;
  private readonly prepareUpdate: Counter;
  private readonly commandLatency: Gauge;
  private readonly runningCorrectly: Gauge;
  private readonly expectedRunning: Gauge;
  private readonly hostUptime: Gauge;
  private readonly daemonUptime: Gauge;
  private readonly availableDisk: Gauge;
  private readonly totalDisk: Gauge;
  private readonly usedMemory: Gauge;
  private readonly totalMemory: Gauge;
  private readonly metadata: Gauge;
  private lastSampleMs: number | undefined;
  /** Each module's version from its last command with a spec: a stop carries none. */
  private readonly versions = new Map<string, string>();

  constructor(registry: MetricsRegistry) {
    const moduleLabels = ['module_name', 'module_version'];
    this.moduleStart = registry.counter({ name: 'edgeAgent_module_start_total', help: 'Command sent to module: start', labelNames: moduleLabels, fixedLabels: MS_TELEMETRY, note: 'A restart counts as a stop and a start (the runner stops, then starts).' });
    this.moduleStop = registry.counter({ name: 'edgeAgent_module_stop_total', help: 'Command sent to module: stop', labelNames: moduleLabels, fixedLabels: MS_TELEMETRY, note: 'An update (stop, remove, create) counts as a stop.' });
    this.prepareUpdate = registry.counter({ name: 'edgeAgent_module_prepare_update_total', help: 'Command sent to module: prepare update (image pull before create or update)', labelNames: moduleLabels, fixedLabels: MS_TELEMETRY, note: 'Counted for every create and update: the runtime pulls (docker) or checks (process) what the module needs there.' });
    this.commandLatency = registry.gauge({ name: 'edgeAgent_command_latency_seconds', help: 'How long the last command of each kind took', labelNames: ['command'], fixedLabels: MS_TELEMETRY, note: '`command`: create, update, remove, start, stop, restart.' });
    this.runningCorrectly = registry.gauge({ name: 'edgeAgent_total_time_running_correctly_seconds', help: 'Time a module has been running as desired since the agent started', labelNames: ['module_name'] });
    this.expectedRunning = registry.gauge({ name: 'edgeAgent_total_time_expected_running_seconds', help: 'Time a module has been desired running since the agent started', labelNames: ['module_name'] });
    this.hostUptime = registry.gauge({ name: 'edgeAgent_host_uptime_seconds', help: 'How long the host has been on', labelNames: [] });
    this.daemonUptime = registry.gauge({ name: 'edgeAgent_iotedged_uptime_seconds', help: 'How long the runtime (this Outpost process) has been running', labelNames: [] });
    const diskLabels = ['disk_name', 'disk_filesystem', 'disk_filetype'];
    this.availableDisk = registry.gauge({ name: 'edgeAgent_available_disk_space_bytes', help: 'Space available to the runtime on the disk of its data directory', labelNames: diskLabels, note: 'One series: the file system of the data directory (`disk_name` its mount point).' });
    this.totalDisk = registry.gauge({ name: 'edgeAgent_total_disk_space_bytes', help: 'Size of the disk of the data directory', labelNames: diskLabels });
    this.usedMemory = registry.gauge({ name: 'edgeAgent_used_memory_bytes', help: 'Memory in use, by the host and by the runtime', labelNames: ['module_name'], note: '`host`, and this process as `edgeHub` (or `edgeAgent` when the hub does not run in it). Modules\' own memory is not served yet.' });
    this.totalMemory = registry.gauge({ name: 'edgeAgent_total_memory_bytes', help: 'Memory available, to the host and to the runtime', labelNames: ['module_name'] });
    this.metadata = registry.gauge({ name: 'edgeAgent_metadata', help: 'General metadata about the device; the value is always 0', labelNames: ['edge_agent_version', 'experimental_features', 'host_information'] });
  }

  commandDone(command: Command, seconds: number, ok: boolean): void {
    this.commandLatency.series(command.kind).value = seconds;
    if (!ok) return;
    if ('spec' in command) this.versions.set(command.id, command.spec.version);
    const version = this.versions.get(command.id) ?? '';
    const count = (counter: Counter) => (counter.series(command.id, version).value += 1);
    if (command.kind === 'start') count(this.moduleStart);
    else if (command.kind === 'stop') count(this.moduleStop);
    else if (command.kind === 'restart') {
      count(this.moduleStop);
      count(this.moduleStart);
    } else if (command.kind === 'create') count(this.prepareUpdate);
    else if (command.kind === 'update') {
      count(this.moduleStop);
      count(this.prepareUpdate);
    }
  }

  attach(registry: MetricsRegistry, figures: AgentFigures): void {
    registry.onCollect(() => this.collect(figures));
  }

  /** Adds the time since the last sample to each module's running totals (on each scrape). */
  sample(reported: ReportedProperties | undefined, nowMs: number): void {
    const elapsedSec = this.lastSampleMs === undefined ? 0 : Math.max(0, nowMs - this.lastSampleMs) / 1000;
    this.lastSampleMs = nowMs;
    if (reported === undefined) return;
    for (const [name, module] of Object.entries(reported.modules)) {
      const expected: ValueSeries = this.expectedRunning.series(name);
      const correct: ValueSeries = this.runningCorrectly.series(name);
      if (module.status !== 'running') continue;
      expected.value += elapsedSec;
      if (module.runtimeStatus === 'running') correct.value += elapsedSec;
    }
  }

  private collect(figures: AgentFigures): void {
    this.sample(figures.reported(), Date.now());
    this.hostUptime.series().value = uptime();
    this.daemonUptime.series().value = process.uptime();
    const disk = diskOf(figures.dataDir);
    this.availableDisk.reset();
    this.totalDisk.reset();
    if (disk !== undefined) {
      this.availableDisk.series(disk.mountPoint, disk.device, disk.type).value = disk.availableBytes;
      this.totalDisk.series(disk.mountPoint, disk.device, disk.type).value = disk.totalBytes;
    }
    const total = totalmem();
    this.usedMemory.series('host').value = total - freemem();
    this.totalMemory.series('host').value = total;
    this.usedMemory.series(figures.processModuleName).value = process.memoryUsage.rss();
    this.totalMemory.series(figures.processModuleName).value = total;
    if (this.metadata.entries().length === 0) {
      const host = { OperatingSystemType: platform(), Architecture: arch(), KernelVersion: release(), NumCpus: cpus().length, Version: figures.version };
      this.metadata.series(figures.version, '{}', JSON.stringify(host)).value = 0;
    }
  }
}
