/**
 * Names and numbers of IoT Hub's AMQP device protocol (notes section 6.1; Azure's
 * `Microsoft.Azure.Amqp` and `EH.Amqp`), named once so no handler spells a wire string itself.
 */
import { SystemAppProperty, TelemetryAnnotation } from '../../amqp-common/index.js';

/** AMQP 1.0 error conditions (AMQP 1.0 section 2.8.15 amqp-error, 2.8.16 connection-error, 2.8.17 session-error, 2.8.18 link-error). */
export const AmqpCondition = {
  InternalError: 'amqp:internal-error',
  NotFound: 'amqp:not-found',
  UnauthorizedAccess: 'amqp:unauthorized-access',
  DecodeError: 'amqp:decode-error',
  ResourceLimitExceeded: 'amqp:resource-limit-exceeded',
  NotAllowed: 'amqp:not-allowed',
  InvalidField: 'amqp:invalid-field',
  NotImplemented: 'amqp:not-implemented',
  PreconditionFailed: 'amqp:precondition-failed',
  ConnectionForced: 'amqp:connection:forced',
  FramingError: 'amqp:connection:framing-error',
  LinkDetachForced: 'amqp:link:detach-forced',
  TransferLimitExceeded: 'amqp:link:transfer-limit-exceeded',
  MessageSizeExceeded: 'amqp:link:message-size-exceeded',
} as const;

/** CBS put-token (`CbsConstants`, `CbsNode.cs`). */
export const Cbs = {
  Address: '$cbs',
  Operation: 'operation',
  PutToken: 'put-token',
  Type: 'type',
  Name: 'name',
  StatusCode: 'status-code',
  StatusDescription: 'status-description',
  /** Token types IoT Hub accepts for a SAS token (Microsoft.Azure.Amqp CbsConstants.SupportedTokenTypes). */
  SasTokenTypes: ['azure-devices.net:sastoken', 'servicebus.windows.net:sastoken'] as readonly string[],
} as const;

/** HTTP-style statuses of a CBS reply (AmqpResponseStatusCode). */
export const CbsStatus = {
  Ok: 200,
  BadRequest: 400,
  Unauthorized: 401,
  InternalError: 500,
} as const;

/** Message annotations the hub reads and writes (`AmqpMessageConverter`, `Constants.cs`). */
export const Annotation = {
  InputName: 'x-opt-input-name',
  LockToken: 'x-opt-lock-token',
  SequenceNumber: 'x-opt-sequence-number',
  EnqueuedTime: 'iothub-enqueuedtime',
  DeliveryCount: 'iothub-deliverycount',
  ConnectionDeviceId: 'iothub-connection-device-id',
  ConnectionModuleId: 'iothub-connection-module-id',
  ...TelemetryAnnotation,
  /** Twin requests and responses. */
  Operation: 'operation',
  Resource: 'resource',
  Status: 'status',
  Version: 'version',
} as const;

/** Application properties with a system meaning. */
export const AppProperty = {
  ...SystemAppProperty,
  MethodName: 'IoThub-methodname',
  MethodStatus: 'IoThub-status',
} as const;

/** Twin operations (`TwinReceivingLinkHandler`). */
export const TwinOperation = {
  Get: 'GET',
  PatchReported: 'PATCH',
  SubscribeDesired: 'PUT',
  UnsubscribeDesired: 'DELETE',
} as const;

/** Link properties the SDK sends, vendor prefix `com.microsoft:`. */
export const LinkProperty = {
  ClientVersion: 'com.microsoft:client-version',
  ChannelCorrelationId: 'com.microsoft:channel-correlation-id',
  ModelId: 'com.microsoft:model-id',
  /** Nested edge: `leaf;edge;parentEdge…`, the identity up to the edge device acting for it. */
  AuthChain: 'com.microsoft:auth-chain',
} as const;

/** SASL mechanisms served (`AmqpSettingsProvider.cs`); EXTERNAL is not (Azure has it commented out). */
export const SaslMechanism = {
  Anonymous: 'ANONYMOUS',
  MsSbCbs: 'MSSBCBS',
  Plain: 'PLAIN',
} as const;

/** Edge hub's container id prefix and largest frame (notes 6.1). */
export const CONTAINER_ID_PREFIX = 'DeviceGateway_';
export const MAX_FRAME_BYTES = 65_536;
/** AMQP 1.0 section 2.7.1: a frame is at least its 8-byte header. */
export const MIN_FRAME_BYTES = 8;
