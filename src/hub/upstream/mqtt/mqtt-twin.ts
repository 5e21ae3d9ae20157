import type { Logger } from '../../../log/index.js';
import type { TwinProperties, TwinService } from '../../twin/index.js';
import type { ReportedOutbox } from '../reported-outbox.js';
import type { SyncedTwin, TwinSync } from '../twin-sync.js';
import { desiredOf, mirrorParentDesired, NO_ANSWER, reportedAnswered } from '../twin-mirror.js';
import type { MqttIdentityConnection } from './mqtt-identity-connection.js';

/** IoT Hub's MQTT twin topics (notes 5: `$iothub/twin/…`). */
export const TwinTopic = {
  Responses: '$iothub/twin/res/#',
  ResponsePrefix: '$iothub/twin/res/',
  DesiredPatches: '$iothub/twin/PATCH/properties/desired/#',
  DesiredPatchPrefix: '$iothub/twin/PATCH/properties/desired/',
  get: (rid: string) => `$iothub/twin/GET/?$rid=${rid}`,
  reported: (rid: string) => `$iothub/twin/PATCH/properties/reported/?$rid=${rid}`,
} as const;

/** A twin request the parent does not answer in this time counts as failed (status 0). */
const REQUEST_TIMEOUT_MS = 30_000;
const HTTP_OK = 200;

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

export interface MqttTwinOptions {
  readonly twinId: string;
  readonly connection: MqttIdentityConnection;
  readonly twins: TwinService;
  readonly outbox: ReportedOutbox;
  readonly sync: TwinSync;
  readonly logger: Logger;
}

/**
 * One identity's twin at the parent over its MQTT connection, the IoT Hub MQTT twin protocol as
 * the Azure SDKs speak it: on each connection, re-pull (GET, rate-limited by TwinSync) and then the
 * outbox's reported patches, one `PATCH` each with its own `$rid`, pipelined on the one connection
 * (the parent answers in order), each leaving the outbox (and its stored copy) once answered 2xx
 * or refused for good (4xx). No answer or a 5xx: the patch waits for the next connection. Desired
 * patches from the parent (`…/desired/?$version=n`) are mirrored into the twin here.
 */
export class MqttTwin implements SyncedTwin {
  private readonly waiting = new Map<string, { resolve: (answer: Answer) => void; timer: NodeJS.Timeout }>();
  private ready = false;
  private nextRid = 1;

  constructor(private readonly options: MqttTwinOptions) {}

  /**
   * The connection opened: re-pull (when due), then send what waits. A re-pull that fails (no
   * answer, or an error) does not hold the reported patches back: they go, and TwinSync tries the
   * re-pull again later on this connection (the connection, shared by the identity's telemetry
   * and methods, is not dropped for it; until then the copy here answers).
   */
  async up(): Promise<void> {
    this.ready = false;
    const { sync, twinId } = this.options;
    const pulled = !sync.shouldRepull(twinId) || (await this.repull());
    if (!this.options.connection.connected) return;
    this.ready = true;
    sync.ready(twinId, this);
    if (!pulled) sync.repullFailed(twinId, this);
    this.flush();
  }

  /** The connection went: requests unanswered fail, patches in flight wait again. */
  down(): void {
    this.ready = false;
    this.options.sync.gone(this.options.twinId, this);
    for (const [rid, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      this.waiting.delete(rid);
      waiter.resolve({ status: NO_ANSWER, body: Buffer.alloc(0) });
    }
    this.options.outbox.requeue();
  }

  flush(): void {
    if (!this.ready) return;
    const { outbox } = this.options;
    for (let patch = outbox.take(); patch !== undefined; patch = outbox.take()) {
      const sent = patch;
      void this.request((rid) => TwinTopic.reported(rid), JSON.stringify(sent)).then((answer) => this.patched(sent, answer));
    }
  }

  async repull(): Promise<boolean> {
    const answer = await this.request((rid) => TwinTopic.get(rid), '');
    if (answer.status !== HTTP_OK) return false;
    const desired = desiredOf(answer.body);
    if (desired !== undefined) {
      const result = await this.options.twins.mirrorDesired(this.options.twinId, { section: desired }, desired.$version as number);
      if (!result.ok) this.options.logger.warn({ event: 'upstream.twin_mirror_failed', twinId: this.options.twinId, status: result.status }, 'the parent\'s desired properties could not be stored here');
    }
    return true;
  }

  async getDesired(timeoutMs: number): Promise<TwinProperties | undefined> {
    if (!this.ready) return undefined;
    const answer = await this.request((rid) => TwinTopic.get(rid), '', timeoutMs);
    return answer.status === HTTP_OK ? desiredOf(answer.body) : undefined;
  }

  /** A PUBLISH on a twin topic: an answer (by `$rid`) or a desired patch. */
  received(topic: string, payload: Buffer): void {
    const query = new URLSearchParams(topic.slice(topic.indexOf('?') + 1));
    if (topic.startsWith(TwinTopic.ResponsePrefix)) {
      const rid = query.get('$rid') ?? '';
      const waiter = this.waiting.get(rid);
      if (waiter === undefined) return;
      this.waiting.delete(rid);
      clearTimeout(waiter.timer);
      waiter.resolve({ status: Number(topic.slice(TwinTopic.ResponsePrefix.length).split('/')[0]), body: payload });
      return;
    }
    const { twins, twinId, logger, sync } = this.options;
    mirrorParentDesired(twins, twinId, Number(query.get('$version')), payload, logger, () => sync.outOfOrder(twinId, this));
  }

  private patched(patch: TwinProperties, answer: Answer): void {
    // No answer or a server error: it waits for the next connection (down() requeues it).
    const { twins, outbox, twinId, logger } = this.options;
    reportedAnswered(twins, outbox, twinId, patch, answer.status, logger);
  }


  private request(topicFor: (rid: string) => string, body: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
    const rid = String(this.nextRid++);
    const answer = new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        resolve({ status: NO_ANSWER, body: Buffer.alloc(0) });
      }, timeoutMs);
      timer.unref();
      this.waiting.set(rid, { resolve, timer });
    });
    if (!this.options.connection.send(topicFor(rid), body)) {
      const waiter = this.waiting.get(rid);
      this.waiting.delete(rid);
      if (waiter !== undefined) {
        clearTimeout(waiter.timer);
        waiter.resolve({ status: NO_ANSWER, body: Buffer.alloc(0) });
      }
    }
    return answer;
  }
}
