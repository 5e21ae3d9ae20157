// The AMQP 1.0 load generator (bench/loadgen/amqp-loadgen.c, on Qpid Proton's C library) from the
// harness's side: built with the system cc against Debian's libqpid-proton11-dev when the binary
// is missing or older than its source, then run as child processes that speak the control lines
// of bench/loadgen/protocol.ts (commands on stdin, JSON lines on stdout), like the C MQTT one.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildReport } from '../loadgen/protocol.js';
import { GeneratorProcess } from './children.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCE = join(REPO_ROOT, 'bench', 'loadgen', 'amqp-loadgen.c');
export const AMQP_LOADGEN_BINARY = fileURLToPath(new URL('../loadgen/amqp-loadgen', import.meta.url));

let built: string | Error | undefined;

/** Path of an up-to-date binary, or an Error saying why it could not be built (once per run). */
export function buildAmqpLoadgen(): string | Error {
  if (built !== undefined) return built;
  built = (() => {
    if (!existsSync(SOURCE)) return new Error(`AMQP load generator source missing (${SOURCE})`);
    if (existsSync(AMQP_LOADGEN_BINARY) && statSync(AMQP_LOADGEN_BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return AMQP_LOADGEN_BINARY;
    mkdirSync(dirname(AMQP_LOADGEN_BINARY), { recursive: true });
    const cc = process.env['CC'] ?? 'cc';
    const temporary = `${AMQP_LOADGEN_BINARY}.${process.pid}.tmp`;
    const result = spawnSync(cc, ['-O2', '-Wall', '-o', temporary, SOURCE, '-lqpid-proton', '-lpthread'], { encoding: 'utf8' });
    if (result.error !== undefined) return new Error(`cannot run ${cc}: ${result.error.message}`);
    if (result.status !== 0) return new Error(`${cc} failed (is libqpid-proton11-dev installed? scripts/install-bench-deps.sh): ${result.stderr.trim()}`);
    renameSync(temporary, AMQP_LOADGEN_BINARY);
    return AMQP_LOADGEN_BINARY;
  })();
  return built;
}

/** The generator's key=value arguments (see the usage in amqp-loadgen.c). */
export interface AmqpLoadgenConfig {
  readonly role: 'sender' | 'receiver';
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly payloadBytes: number;
  /** TLS: the CA file that verifies the broker's certificate for `servername`. */
  readonly caFile?: string;
  readonly servername?: string;
  /** SASL PLAIN; no SASL layer when absent. */
  readonly user?: string;
  readonly password?: string;
  /** Sender: unsettled transfers at most; seed and index of the payload; the header's durable flag; `iothub-outputname`. */
  readonly window?: number;
  readonly seed?: number;
  readonly index?: number;
  readonly durable?: boolean;
  readonly outputName?: string;
  /** Receiver: credit granted (given back in quarters). */
  readonly credit?: number;
}

export function amqpLoadgenArgs(config: AmqpLoadgenConfig): string[] {
  const args = [config.role, `host=${config.host}`, `port=${config.port}`, `address=${config.address}`, `payload=${config.payloadBytes}`];
  if (config.caFile !== undefined) args.push(`cafile=${config.caFile}`, `servername=${config.servername ?? 'localhost'}`);
  if (config.user !== undefined) args.push(`user=${config.user}`, `password=${config.password ?? ''}`);
  if (config.window !== undefined) args.push(`window=${config.window}`);
  if (config.seed !== undefined) args.push(`seed=${config.seed}`);
  if (config.index !== undefined) args.push(`index=${config.index}`);
  if (config.durable !== undefined) args.push(`durable=${config.durable ? 1 : 0}`);
  if (config.outputName !== undefined) args.push(`outputname=${config.outputName}`);
  if (config.credit !== undefined) args.push(`credit=${config.credit}`);
  return args;
}

/** One generator process. */
export class AmqpLoadgenChild extends GeneratorProcess {
  constructor(name: string, config: AmqpLoadgenConfig) {
    const binary = buildAmqpLoadgen();
    if (binary instanceof Error) throw binary;
    super(name, spawn(binary, amqpLoadgenArgs(config), { stdio: ['pipe', 'pipe', 'pipe'] }), 'the AMQP load generator');
  }

  async report(timeoutMs = 15_000): Promise<ChildReport> {
    this.send({ type: 'stop' });
    return (await this.waitFor('report', timeoutMs)).report;
  }
}
