import type { Logger } from '../../log/index.js';
import { TwinStatus, type TwinProperties, type TwinService } from '../twin/index.js';
import type { ReportedOutbox } from './reported-outbox.js';

/**
 * What the two twin relays (TwinRelay on AMQP links, MqttTwin on IoT Hub's MQTT topics) do with
 * the parent's twin traffic once it is read off the wire: the same whatever carries it.
 */

/** The status of a twin request the parent did not answer (timed out, link or connection gone). */
export const NO_ANSWER = 0;
const HTTP_OK_MIN = 200;
const HTTP_OK_MAX = 299;
const HTTP_SERVER_ERROR_MIN = 500;

/**
 * A desired patch from the parent (its `$version` and JSON body), mirrored into the twin here in
 * arrival order (the twin service is serial per twin); one without a version or a JSON object is
 * logged and dropped. One whose version does not follow the version here is not applied, and
 * `outOfOrder` is called: the caller re-pulls the whole section (TwinSync.outOfOrder).
 */
export function mirrorParentDesired(twins: TwinService, twinId: string, version: number, body: Buffer, logger: Logger, outOfOrder: () => void): void {
  let patch: unknown;
  try {
    patch = JSON.parse(body.toString('utf8'));
  } catch {
    patch = undefined;
  }
  if (!Number.isInteger(version) || typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    logger.info({ event: 'upstream.desired_patch_invalid', twinId }, 'a desired patch from the parent without a version or a JSON object');
    return;
  }
  void twins.mirrorDesired(twinId, { patch: patch as TwinProperties }, version).then((result) => {
    if (!result.ok && result.status === TwinStatus.PreconditionFailed) {
      logger.info({ event: 'upstream.desired_out_of_order', twinId, version, reason: result.reason }, 'a desired patch from the parent does not follow the version here; the desired section is pulled again');
      outOfOrder();
    } else if (!result.ok) logger.warn({ event: 'upstream.twin_mirror_failed', twinId, status: result.status }, 'a desired patch from the parent could not be stored here');
  });
}

/**
 * The parent answered a reported PATCH with `status`. `done`: the patch leaves the outbox and its
 * durable copy (the twin's upstreamOutbox) — taken (2xx), or refused in a way sending it again
 * would not change (any other answer below 500; logged, the twin here keeps it). `retry`: no
 * answer or a server error; the caller sends it again on its next link or connection.
 */
export function reportedAnswered(twins: TwinService, outbox: ReportedOutbox, twinId: string, patch: TwinProperties, status: number, logger: Logger): 'done' | 'retry' {
  if (status === NO_ANSWER || status >= HTTP_SERVER_ERROR_MIN) return 'retry';
  if (status < HTTP_OK_MIN || status > HTTP_OK_MAX) {
    logger.warn({ event: 'upstream.reported_refused', code: 'OUTPOST_UPSTREAM_TWIN_SYNC_FAILED', twinId, status }, 'the parent refused a reported-properties patch; it is not sent again');
  }
  const upTo = outbox.done(patch);
  if (upTo !== undefined) {
    twins.reportedSynced(twinId, upTo).catch((error: unknown) => {
      logger.warn({ event: 'upstream.outbox_write_failed', code: 'OUTPOST_TWIN_STORE_FAILED', twinId, err: error }, 'a reported patch the parent took is still in the stored outbox; it may be sent again after a restart');
    });
  }
  return 'done';
}

/** The `desired` section (with a numeric `$version`) of the parent's answer to a twin GET. */
export function desiredOf(body: Buffer): TwinProperties | undefined {
  try {
    const desired = (JSON.parse(body.toString('utf8')) as { desired?: TwinProperties }).desired;
    return desired !== undefined && typeof desired === 'object' && desired !== null && typeof desired.$version === 'number' ? desired : undefined;
  } catch {
    return undefined;
  }
}
