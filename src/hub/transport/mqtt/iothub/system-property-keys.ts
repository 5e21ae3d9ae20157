/**
 * Property-bag keys that carry system properties (notes section 5.3; EdgeHub `SystemProperties`
 * Incoming/OutgoingSystemPropertiesMap). Names on our side always come from `SystemProperty`, so a
 * rename in hub-message.ts (for example of the correlation id) follows here by itself.
 */
import { SystemProperty, type SystemPropertyName } from '../../../message/index.js';

/** Wire keys a client may send and the system property each one sets. Everything else is an application property. */
export const INBOUND_SYSTEM_KEYS: ReadonlyMap<string, SystemPropertyName> = new Map<string, SystemPropertyName>([
  ['$.mid', SystemProperty.MessageId],
  ['$.cid', SystemProperty.CorrelationId],
  ['$.to', SystemProperty.To],
  ['$.uid', SystemProperty.UserId],
  ['$.ct', SystemProperty.ContentType],
  ['$.ce', SystemProperty.ContentEncoding],
  ['$.exp', SystemProperty.AbsoluteExpiryTime],
  ['$.on', SystemProperty.OutputName],
  ['$.schema', SystemProperty.MessageSchema],
  ['$.ctime', SystemProperty.CreationTime],
  ['iothub-operation', SystemProperty.Operation],
  ['$.ifid', SystemProperty.InterfaceId],
  ['$.sub', SystemProperty.ComponentName],
]);

/**
 * System properties written into the bag of a message sent to a client (C2D, module input), in
 * EdgeHub's order, after the application properties. `$.cdid`/`$.cmid` name the sender's
 * connection. Output name, interface id and component are not sent (EdgeHub does not either).
 */
export const OUTBOUND_SYSTEM_KEYS: ReadonlyArray<readonly [SystemPropertyName, string]> = [
  [SystemProperty.AbsoluteExpiryTime, '$.exp'],
  [SystemProperty.CorrelationId, '$.cid'],
  [SystemProperty.MessageId, '$.mid'],
  [SystemProperty.To, '$.to'],
  [SystemProperty.UserId, '$.uid'],
  [SystemProperty.ContentType, '$.ct'],
  [SystemProperty.ContentEncoding, '$.ce'],
  [SystemProperty.MessageSchema, '$.schema'],
  [SystemProperty.Operation, 'iothub-operation'],
  [SystemProperty.CreationTime, '$.ctime'],
  [SystemProperty.ConnectionDeviceId, '$.cdid'],
  [SystemProperty.ConnectionModuleId, '$.cmid'],
];

/**
 * Wire keys an application property may not use in an outbound bag: receivers read them as system
 * properties, so a sender could otherwise pose as another module through an application property
 * named `$.cmid`.
 */
export const RESERVED_OUTBOUND_KEYS: ReadonlySet<string> = new Set(OUTBOUND_SYSTEM_KEYS.map(([, wire]) => wire));
