/**
 * The one registry of error codes. Codes are stable and never reused: a code that is retired stays
 * here with `retired: true`. docs/errors.md is generated from this table and a test keeps the two
 * in sync, so operators can look up any code they find in a log line.
 */

/** Who is at fault, which decides retry behaviour and log level. */
export type ErrorKind = 'client' | 'transient' | 'internal' | 'config';

export interface ErrorSpec {
  readonly kind: ErrorKind;
  /** One sentence for the operator: what happened and what to do. */
  readonly summary: string;
  /** MQTT 5 reason code sent to the client, where the error reaches one. */
  readonly mqttReason?: number;
  /** AMQP 1.0 error condition sent to the peer, where the error reaches one. */
  readonly amqpCondition?: string;
  readonly retired?: boolean;
}

// MQTT 5.0 reason codes used below (MQTT 5.0 section 2.4).
const MQTT_UNSPECIFIED_ERROR = 0x80;
const MQTT_CLIENT_IDENTIFIER_NOT_VALID = 0x85;
const MQTT_BAD_USERNAME_OR_PASSWORD = 0x86;
const MQTT_NOT_AUTHORIZED = 0x87;
const MQTT_SERVER_UNAVAILABLE = 0x88;
const MQTT_SERVER_BUSY = 0x89;
const MQTT_SERVER_SHUTTING_DOWN = 0x8b;
const MQTT_TOPIC_NAME_INVALID = 0x90;
const MQTT_QUOTA_EXCEEDED = 0x97;

export const ErrorRegistry = {
  OUTPOST_CONFIG_INVALID: {
    kind: 'config',
    summary: 'One or more configuration values are invalid; each problem is listed with its source and path.',
  },
  OUTPOST_CONFIG_FILE_UNREADABLE: {
    kind: 'config',
    summary: 'The configuration file named by --config or OUTPOST_CONFIG cannot be read.',
  },
  OUTPOST_CONFIG_FILE_SYNTAX: {
    kind: 'config',
    summary: 'The configuration file is not valid JSON or YAML; the message gives the line and column.',
  },
  OUTPOST_CONFIG_UNKNOWN_KEY: {
    kind: 'config',
    summary: 'A configuration file key, OUTPOST_* environment variable or flag does not exist in the schema (usually a typo).',
  },
  OUTPOST_CLI_USAGE: {
    kind: 'client',
    summary: 'The command line could not be understood; run the command with --help.',
  },
  OUTPOST_TLS_CERT_UNREADABLE: {
    kind: 'config',
    summary: 'A configured certificate, key or CA file cannot be read or parsed.',
  },
  OUTPOST_TLS_KEY_MISMATCH: {
    kind: 'config',
    summary: 'The configured private key does not belong to the configured server certificate.',
  },
  OUTPOST_TLS_CERT_EXPIRED: {
    kind: 'config',
    summary: 'The configured server certificate is expired or not yet valid.',
  },
  OUTPOST_TLS_DEV_CA_FAILED: {
    kind: 'internal',
    summary: 'The development CA or server certificate could not be generated or written into the data directory.',
  },
  OUTPOST_LISTENER_BIND_FAILED: {
    kind: 'config',
    summary: 'A listener could not bind its address and port (in use, not permitted, or no such address).',
    mqttReason: MQTT_SERVER_UNAVAILABLE,
  },
  OUTPOST_DATA_DIR_IN_USE: {
    kind: 'transient',
    summary: 'Another running Outpost hub holds the data directory (its RocksDB stores cannot be shared); the message names its process id. Stop it, or give this one another --data-dir.',
  },
  OUTPOST_LISTENER_TOO_MANY_CLIENTS: {
    kind: 'transient',
    summary: 'A connection was refused because MaxConnectedClients connections are already open.',
    mqttReason: MQTT_QUOTA_EXCEEDED,
    amqpCondition: 'amqp:resource-limit-exceeded',
  },
  OUTPOST_LISTENER_CONNECT_TIMEOUT: {
    kind: 'client',
    summary: 'A client opened a connection but sent nothing within the connect-arrival timeout.',
  },
  OUTPOST_PROTOCOL_UNAVAILABLE: {
    kind: 'internal',
    summary: 'A listener accepted a connection for a protocol whose adapter is not part of this build yet; the connection is closed.',
    mqttReason: MQTT_SERVER_UNAVAILABLE,
    amqpCondition: 'amqp:not-implemented',
  },
  OUTPOST_WEBSOCKET_PATH_NOT_FOUND: {
    kind: 'client',
    summary: 'A WebSocket upgrade on the HTTPS listener asked for a path other than /$iothub/websocket; it is answered 404 and the connection closed.',
  },
  OUTPOST_WEBSOCKET_SUBPROTOCOL_UNSUPPORTED: {
    kind: 'client',
    summary: 'A WebSocket upgrade offered no subprotocol the hub speaks (`mqtt` or `AMQPWSB10`); it is answered 400, as Azure\'s edge hub does.',
  },
  OUTPOST_WEBSOCKET_PROTOCOL_UNAVAILABLE: {
    kind: 'config',
    summary: 'A WebSocket upgrade asked for MQTT or AMQP over WebSocket, which this hub does not serve (https.webSocket is false, mqtt.enabled or amqp.enabled is false, or the protocol\'s adapter is not part of this build); it is answered 501.',
  },
  OUTPOST_WEBSOCKET_HANDSHAKE_INVALID: {
    kind: 'client',
    summary: 'A WebSocket upgrade request was malformed (not GET, no or a bad Sec-WebSocket-Key, an unsupported Sec-WebSocket-Version); it is answered 400.',
  },
  OUTPOST_WEBSOCKET_PROTOCOL_ERROR: {
    kind: 'client',
    summary: 'A WebSocket peer broke the framing (an invalid or unmasked frame, a text frame where only binary is allowed, a message over https.maxWebSocketMessageSize); that connection alone is closed with the matching close code (1002, 1003, 1009).',
  },
  OUTPOST_SHUTDOWN_IN_PROGRESS: {
    kind: 'transient',
    summary: 'The runtime is shutting down; the client should reconnect later.',
    mqttReason: MQTT_SERVER_SHUTTING_DOWN,
    amqpCondition: 'amqp:connection:forced',
  },
  OUTPOST_SHUTDOWN_TIMEOUT: {
    kind: 'internal',
    summary: 'Graceful shutdown did not finish within shutdownTimeout; remaining connections were destroyed.',
  },
  OUTPOST_AUTH_NOT_AUTHORIZED: {
    kind: 'client',
    summary: 'The identity is not allowed to perform this operation.',
    mqttReason: MQTT_NOT_AUTHORIZED,
    amqpCondition: 'amqp:unauthorized-access',
  },
  OUTPOST_MQTT_PROTOCOL_ERROR: {
    kind: 'client',
    summary: 'An MQTT client broke the protocol (malformed or oversized packet, bad topic, wrong packet order, keep-alive timeout); the log line names the client, the reason and the MQTT 5 reason code sent.',
    mqttReason: 0x82,
  },
  OUTPOST_BROKER_DISK_FULL: {
    kind: 'transient',
    summary: 'The disk under the broker state (<dataDir>/broker: retained messages, persistent sessions and their queues) has less than store.minFreeDisk free, or RocksDB reported no space: a PUBLISH that would write there (retained, or QoS 1/2 for a persistent session) is refused, not acknowledged (MQTT 5 reason 0x97; MQTT 3.1.1 clients are disconnected). Nothing acknowledged is lost; publishing resumes by itself once space is free.',
    mqttReason: MQTT_QUOTA_EXCEEDED,
  },
  OUTPOST_BROKER_WRITE_FAILED: {
    kind: 'transient',
    summary: 'The broker state (<dataDir>/broker) could not be written (an I/O error other than a full disk): the PUBLISHes waiting for that write are refused (MQTT 5 reason 0x80; MQTT 3.1.1 clients are disconnected), and the write is retried. The log line carries the cause.',
    mqttReason: MQTT_UNSPECIFIED_ERROR,
  },
  OUTPOST_MQTT_MESSAGE_DROPPED: {
    kind: 'transient',
    summary: "A message to a subscriber was dropped: its session queue was full (mqtt.maxQueuedMessages or mqtt.maxQueuedBytes; the oldest goes), all queues together reached mqtt.maxQueuedBytesTotal (reason total_queue_full), or, for QoS 0, its connection was congested. Rate-limited; raise the limit or fix the slow or absent subscriber.",
    mqttReason: MQTT_QUOTA_EXCEEDED,
  },
  OUTPOST_MQTT_CLIENT_ID_NOT_OWNED: {
    kind: 'client',
    summary: "A CONNECT used a client id that belongs to another identity: an IoT Hub identity's `device` or `device/module` (the edge device's own modules included), or a session another identity created. Refused with CONNACK Not authorized; the client holding the id is not disturbed. Rate-limited.",
    mqttReason: MQTT_NOT_AUTHORIZED,
  },
  OUTPOST_MQTT_SESSION_QUOTA_EXCEEDED: {
    kind: 'client',
    summary: 'A CONNECT would have opened one more persistent session than mqtt.maxSessionsPerIdentity allows its identity (all anonymous clients are one identity); refused with CONNACK 0x97 Quota exceeded (3.1.1: Server unavailable). Rate-limited; end unused sessions (connect them with a clean start) or raise the limit.',
    mqttReason: MQTT_QUOTA_EXCEEDED,
  },
  OUTPOST_DEPLOYMENT_UNREADABLE: {
    kind: 'config',
    summary: 'The deployment manifest file cannot be read.',
  },
  OUTPOST_DEPLOYMENT_INVALID: {
    kind: 'config',
    summary: 'The deployment manifest is not valid; each problem names its JSON path.',
  },
  OUTPOST_AGENT_RUNTIME_UNAVAILABLE: {
    kind: 'transient',
    summary: 'The module runtime cannot be reached (the Docker Engine API socket agent.dockerSocket does not answer); the agent retries with backoff and reports status 500.',
  },
  OUTPOST_AGENT_COMMAND_FAILED: {
    kind: 'transient',
    summary: 'A plan command (create, start, stop, update, remove, restart) failed on the module runtime; it is retried with backoff and the deployment reports status 500 naming the module.',
  },
  OUTPOST_AGENT_IMAGE_PULL_FAILED: {
    kind: 'transient',
    summary: 'Pulling a module image failed (registry unreachable, unknown image, bad credentials); the error inside the pull stream is in the message. Retried with backoff.',
  },
  OUTPOST_AGENT_IMAGE_NOT_PRESENT: {
    kind: 'config',
    summary: 'A module with imagePullPolicy "never" names an image that is not on the machine; load or pull it first.',
  },
  OUTPOST_AGENT_IMAGE_DIGEST_MISMATCH: {
    kind: 'config',
    summary: 'A module image pinned by digest (settings.digest or image@sha256:…) does not have that digest on the machine; the module is not started.',
  },
  OUTPOST_AGENT_NOT_RUNNING: {
    kind: 'client',
    summary: 'The CLI could not reach a running agent on its control socket (<dataDir>/agent/agent.sock); start `outpost run` or `outpost agent` with the same data directory.',
  },
  OUTPOST_AGENT_MANAGED_FROM_ABOVE: {
    kind: 'client',
    summary: 'This edge device has an upstream (upstream.hostname), so its deployment comes from the parent as the $edgeAgent and $edgeHub desired properties; a local `outpost deploy` is refused. Deploy from the parent: `outpost deploy <file> --device <this device>`.',
  },
  OUTPOST_AGENT_TWIN_REPORT_FAILED: {
    kind: 'transient',
    summary: 'The agent could not write its reported properties into the $edgeAgent or $edgeHub twin of this hub (the twin store failed or refused the patch); the next report carries the difference again.',
  },
  OUTPOST_DEPLOYMENT_TARGET_UNKNOWN: {
    kind: 'client',
    summary: '`outpost deploy --device <id>` names a device whose $edgeAgent module is not in the identity registry (status 404); add the child edge device and its $edgeAgent and $edgeHub modules with `outpost identity add`.',
  },
  OUTPOST_AGENT_MODULE_NOT_FOUND: {
    kind: 'client',
    summary: 'No module with this id is deployed (`outpost list` shows them).',
  },
  OUTPOST_AGENT_CONTROL_LISTEN_FAILED: {
    kind: 'config',
    summary: 'The agent control socket (<dataDir>/agent/agent.sock) could not be created: the path is too long for a unix socket, another running agent holds it, or it is not permitted.',
  },
  OUTPOST_AGENT_MODULE_PROGRAM_MISSING: {
    kind: 'config',
    summary: 'A process module\'s working directory, command or Node.js script does not exist on this machine; `outpost check` and `outpost deploy` name the module and the path.',
  },
  OUTPOST_MQTT_BAD_USERNAME: {
    kind: 'client',
    summary: 'An IoT Hub client sent a CONNECT username that is not {hub}/{device}[/{module}]/?api-version=…; the connection is refused.',
    mqttReason: MQTT_BAD_USERNAME_OR_PASSWORD,
  },
  OUTPOST_MQTT_CLIENT_ID_MISMATCH: {
    kind: 'client',
    summary: 'An IoT Hub client\'s CONNECT client id is not the device or device/module named in its username; the connection is refused.',
    mqttReason: MQTT_CLIENT_IDENTIFIER_NOT_VALID,
  },
  OUTPOST_MQTT_BAD_TOPIC: {
    kind: 'client',
    summary: 'An IoT Hub client published to a devices/… telemetry or $iothub/… topic that fits no IoT Hub template; that message is rejected.',
    mqttReason: MQTT_TOPIC_NAME_INVALID,
  },
  OUTPOST_MQTT_BAD_PROPERTY_BAG: {
    kind: 'client',
    summary: 'The property bag of a telemetry topic is malformed (empty name, trailing \'&\', \'=\' inside a value); that message is rejected.',
    mqttReason: MQTT_TOPIC_NAME_INVALID,
  },
  OUTPOST_MQTT_OUTBOUND_TOPIC_INVALID: {
    kind: 'client',
    summary: 'A message could not be given an IoT Hub topic for its receiver (a name with \'/\', \'+\', \'#\' or U+0000, or over 65535 bytes with its properties); that delivery fails.',
  },
  OUTPOST_ROUTE_SYNTAX: {
    kind: 'config',
    summary: 'A route statement or its condition cannot be parsed; the error names the offset, line and column and the reason. Only that route is rejected.',
  },
  OUTPOST_ROUTE_TYPE: {
    kind: 'config',
    summary: 'A route condition is not well typed (operand or argument types, unknown function, invalid $body path); the error names the position. Only that route is rejected.',
  },
  OUTPOST_ROUTE_INVALID_SINK: {
    kind: 'config',
    summary: 'A route sink is neither $upstream nor BrokeredEndpoint("/modules/<module>/inputs/<input>"). Only that route is rejected.',
  },
  OUTPOST_ROUTE_INVALID_SPEC: {
    kind: 'config',
    summary: 'A route entry of $edgeHub routes is malformed (empty, bad name, priority outside 0-9, timeToLiveSecs outside 0-4294967295, unknown key). Only that route is rejected.',
  },
  OUTPOST_AUTH_BAD_CREDENTIALS: {
    kind: 'client',
    summary: 'Credentials did not verify: a malformed or wrongly signed SAS token, a token for another identity or host, an unknown identity, or a client certificate that is untrusted or not bound to the identity. The log line says which; it never holds the token, key or signature.',
    mqttReason: MQTT_BAD_USERNAME_OR_PASSWORD,
    amqpCondition: 'amqp:unauthorized-access',
  },
  OUTPOST_AUTH_TOKEN_EXPIRED: {
    kind: 'client',
    summary: 'A SAS token expired (its se plus auth.sasClockSkew is in the past); the client must sign a new one. Check the clocks of the device and the gateway if this repeats.',
    mqttReason: MQTT_BAD_USERNAME_OR_PASSWORD,
    amqpCondition: 'amqp:unauthorized-access',
  },
  OUTPOST_AUTH_IDENTITY_DISABLED: {
    kind: 'client',
    summary: 'The device or module (or the device a module belongs to) is disabled in the identity registry; enable it with `outpost identity enable`.',
    mqttReason: MQTT_NOT_AUTHORIZED,
    amqpCondition: 'amqp:unauthorized-access',
  },
  OUTPOST_AUTH_TOO_MANY_FAILURES: {
    kind: 'transient',
    summary: 'A login was refused without being checked: the identity it names keeps failing from this address and the address already has as many failed logins waiting out their delay as it may (docs/security.md, failed logins). Logins that verified before from that client still get in; the client should retry later.',
    mqttReason: MQTT_SERVER_BUSY,
    amqpCondition: 'amqp:resource-limit-exceeded',
  },
  OUTPOST_AUTH_NOT_IN_SCOPE: {
    kind: 'client',
    summary: 'An edge device tried to act for an identity outside its device scope (an on-behalf-of SAS token: signed with the edge device\'s key, put for another identity): the identity is unknown here, or the signing edge device is not its parent or an ancestor, or not a descendant of this gateway. A parent acts only for its own descendants (docs/upstream.md). Register the identity with `outpost identity add <id> --parent <edge device>` on this gateway.',
    mqttReason: MQTT_NOT_AUTHORIZED,
    amqpCondition: 'amqp:unauthorized-access',
  },
  OUTPOST_AUTH_CHAIN_INVALID: {
    kind: 'client',
    summary: 'An AMQP link carried a `com.microsoft:auth-chain` that does not match this gateway\'s registry (it must start with the link\'s identity, follow its parent links, and end with the edge device that authenticated it): the link is detached with amqp:unauthorized-access.',
    mqttReason: MQTT_NOT_AUTHORIZED,
    amqpCondition: 'amqp:unauthorized-access',
  },
  OUTPOST_AUTH_POLICY_INVALID: {
    kind: 'config',
    summary: 'A broker authorization policy (the deployment\'s $edgeHub mqttBroker.authorizations, or auth.policy of a hub run alone) was rejected; each problem names its statement, rule and field. A manifest holding it is refused with status 400; the previous policy stays in force.',
  },
  OUTPOST_IDENTITY_STORE_UNREADABLE: {
    kind: 'config',
    summary: 'The identity registry file (<dataDir>/identities/identities.json) cannot be read or is not valid; it is left untouched so no key is lost. Restore it from a backup or fix the named entry.',
  },
  OUTPOST_IDENTITY_INVALID: {
    kind: 'client',
    summary: 'An identity is invalid: an id with characters IoT Hub does not allow, a key that is not base64 of 16-64 bytes, a thumbprint that is not SHA-1 or SHA-256 hex, or an unknown parent.',
  },
  OUTPOST_IDENTITY_NOT_FOUND: {
    kind: 'client',
    summary: 'No device or module with this id is in the identity registry (`outpost identity list` shows them).',
  },
  OUTPOST_IDENTITY_EXISTS: {
    kind: 'client',
    summary: 'A device or module with this id is already in the identity registry.',
  },
  OUTPOST_WORKLOAD_LISTEN_FAILED: {
    kind: 'config',
    summary: 'The workload API socket for modules could not be created: the path is too long for a unix socket, another running Outpost holds it, or it is not permitted.',
  },
  OUTPOST_STORE_FULL: {
    kind: 'transient',
    summary: 'The message store holds store.maxSize bytes of queued messages and store.fullPolicy is `refuse`: new messages are refused (not acknowledged) until endpoints catch up or messages expire. Rate-limited; see `outpost store stats`.',
    mqttReason: MQTT_QUOTA_EXCEEDED,
    amqpCondition: 'amqp:resource-limit-exceeded',
  },
  OUTPOST_STORE_DISK_FULL: {
    kind: 'transient',
    summary: 'The disk under the message store has less than store.minFreeDisk free, or RocksDB reported no space: new messages are refused (not acknowledged) and nothing stored is lost; the store resumes by itself once space is free.',
    mqttReason: MQTT_QUOTA_EXCEEDED,
    amqpCondition: 'amqp:resource-limit-exceeded',
  },
  OUTPOST_STORE_WRITE_FAILED: {
    kind: 'transient',
    summary: 'A shard of the message store could not write a batch (an I/O error other than a full disk); those messages were not acknowledged and the sender may retry. The log line carries the cause.',
    mqttReason: MQTT_UNSPECIFIED_ERROR,
    amqpCondition: 'amqp:internal-error',
  },
  OUTPOST_STORE_OPEN_FAILED: {
    kind: 'config',
    summary: 'The message store (store.dir) could not be opened: not writable, held by another running Outpost, or damaged. The log line names the shard and the cause.',
  },
  OUTPOST_STORE_VERSION_UNSUPPORTED: {
    kind: 'config',
    summary: 'A store in the data directory (a message-store shard, store.json or the broker state) has a format version this Outpost does not read: it was written by a newer Outpost. Nothing was changed; run the newer version, or restore a backup taken before the upgrade (docs/operations.md, "Store format versions").',
  },
  OUTPOST_STORE_BACKUP_FAILED: {
    kind: 'config',
    summary: '`outpost store backup` or `restore` could not run: the data directory is in use by a running Outpost (stop it first), the target is not empty, or the source is not a complete backup. Nothing was overwritten.',
  },
  OUTPOST_STORE_CLOSED: {
    kind: 'transient',
    summary: 'A message arrived while the message store was shutting down; it was not acknowledged and the sender should send it again after reconnecting.',
    mqttReason: MQTT_SERVER_SHUTTING_DOWN,
    amqpCondition: 'amqp:connection:forced',
  },
  OUTPOST_STORE_MESSAGES_DROPPED: {
    kind: 'transient',
    summary: 'The message store reached store.maxSize with store.fullPolicy `dropOldest`: the oldest queued messages were deleted to make room (counted by the store as `dropped`, outpost_store_dropped_total). Rate-limited.',
  },
  OUTPOST_STORE_DELIVERY_TIMEOUT: {
    kind: 'transient',
    summary: 'An endpoint did not acknowledge messages within store.ackTimeout; they stay queued and are delivered again (at least once) after a backoff. Rate-limited.',
  },
  OUTPOST_STORE_UNDELIVERABLE: {
    kind: 'client',
    summary: 'A queued message can never be delivered to its endpoint (for example its properties cannot form a valid module input topic); it was removed from that queue so the messages behind it keep flowing.',
  },
  OUTPOST_STORE_MESSAGE_CORRUPT: {
    kind: 'internal',
    summary: 'A queued message read back from the store does not decode (its stored bytes are damaged: a disk fault, or a store written by an incompatible version); it cannot be sent, so it is removed from its queue and counted as undeliverable, and the messages behind it keep flowing. Rate-limited.',
  },
  OUTPOST_TWIN_PATCH_INVALID: {
    kind: 'client',
    summary: 'A twin patch (reported properties from a device or module, desired properties from `outpost twin update-desired`) breaks an IoT Hub twin rule (not a JSON object, a key with \'.\', \'$\', \'#\', white space or a control character, a string over 4 KB, nesting over 10, a section over 32 KB); it is refused with status 400 and nothing changes.',
  },
  OUTPOST_TWIN_NOT_FOUND: {
    kind: 'client',
    summary: 'No device or module with this id is in the identity registry, so it has no twin (status 404); `outpost identity list` shows them.',
  },
  OUTPOST_TWIN_STORE_FAILED: {
    kind: 'transient',
    summary: 'The twin store (<dataDir>/twins) could not read or write; the operation was answered with status 500 and nothing was acknowledged. The cause is in the log line.',
  },
  OUTPOST_METHOD_REQUEST_INVALID: {
    kind: 'client',
    summary: 'A direct-method call was refused with status 400 (IoT Hub errorCode 400004): the body is not a JSON object, methodName is empty or holds /, +, #, ? or U+0000, or responseTimeoutInSeconds is not an integer from 5 to 300 (connectTimeoutInSeconds: 0 to 300). Nothing was sent to the target.',
  },
  OUTPOST_METHOD_UNAUTHORIZED: {
    kind: 'client',
    summary: 'A direct-method call on the HTTPS API was refused with status 401 (errorCode 401002): no SharedAccessSignature, no x-ms-edge-moduleId header, a token that does not verify for that module, or a caller that is not a module of this edge device.',
  },
  OUTPOST_METHOD_TARGET_NOT_FOUND: {
    kind: 'client',
    summary: 'The target of a direct method is not a device or module this edge device owns (its modules, its child devices and theirs): status 404, errorCode 404001 DeviceNotFound. `outpost identity list` shows the identities.',
  },
  OUTPOST_METHOD_TARGET_OFFLINE: {
    kind: 'client',
    summary: 'The target of a direct method is not connected, or connected without a method handler (no subscription to $iothub/methods/POST/#), or disconnected before answering: status 404, errorCode 404103 DeviceNotOnline, at once.',
  },
  OUTPOST_METHOD_PAYLOAD_TOO_LARGE: {
    kind: 'client',
    summary: 'A direct-method request or response payload is over 128 KiB (measured as JSON): status 413, errorCode 413002. A too-large request is not sent to the target.',
  },
  OUTPOST_METHOD_TIMEOUT: {
    kind: 'transient',
    summary: 'The target of a direct method did not answer within responseTimeoutInSeconds: status 504, errorCode 504101 GatewayTimeout. A later answer is logged as iothub.method_response_unmatched and dropped.',
  },
  OUTPOST_C2D_DEVICE_NOT_FOUND: {
    kind: 'client',
    summary: 'A cloud-to-device message names a device that is not in the identity registry (status 404); C2D goes to devices only, never modules. `outpost identity list` shows them.',
  },
  OUTPOST_C2D_MESSAGE_INVALID: {
    kind: 'client',
    summary: 'A cloud-to-device message is malformed (not a JSON object, no body or two, a property that is not a string or uses a reserved `$.`/`iothub-` name, a TTL outside 1 s to 2 days); refused with status 400 and nothing queued.',
  },
  OUTPOST_C2D_MESSAGE_TOO_LARGE: {
    kind: 'client',
    summary: 'A cloud-to-device message is larger than 64 KB (body plus property names and values, IoT Hub\'s limit); refused with status 413 and nothing queued.',
  },
  OUTPOST_C2D_QUEUE_FULL: {
    kind: 'client',
    summary: 'The device already has 50 cloud-to-device messages queued (IoT Hub\'s DeviceMaximumQueueDepthExceeded); refused with status 403. Messages leave as the device completes them or they expire.',
  },
  OUTPOST_C2D_STORE_FAILED: {
    kind: 'transient',
    summary: 'The C2D store (<dataDir>/c2d) could not write; the message was refused with status 500 and not queued, or (for a removal) it may be delivered again after a restart. The cause is in the log line.',
  },
  OUTPOST_C2D_MESSAGE_EXPIRED: {
    kind: 'client',
    summary: 'A cloud-to-device message reached its expiry time (its TTL, 1 hour by default) before the device completed it, and was removed from the queue without being delivered again. Informational.',
  },
  OUTPOST_C2D_UNDELIVERABLE: {
    kind: 'client',
    summary: 'A cloud-to-device message can never be delivered over the device\'s transport (for example its properties make an MQTT topic longer than 65535 bytes); it was removed so the messages behind it keep flowing.',
  },
  OUTPOST_AMQP_PROTOCOL_ERROR: {
    kind: 'client',
    summary: 'An AMQP client broke the protocol (a malformed or oversize frame, frames out of order, a transfer beyond its link credit); the connection is closed with an AMQP close carrying the condition (or the link detached, for a credit violation). Rate-limited.',
    amqpCondition: 'amqp:decode-error',
  },
  OUTPOST_AMQP_BATCH_INVALID: {
    kind: 'client',
    summary: 'A batched AMQP transfer (message-format 0x80013700, one encoded message per Data section, as Azure\'s edge hub sends upstream) could not be decoded, or had another message-format; it is rejected with amqp:decode-error (amqp:not-implemented for an unknown format) and none of its messages is stored. Rate-limited.',
    amqpCondition: 'amqp:decode-error',
  },
  OUTPOST_AMQP_LINK_REFUSED: {
    kind: 'client',
    summary: "An AMQP link was detached at attach: its address is not an IoT Hub node (amqp:not-found), names an identity not authenticated on this connection (amqp:unauthorized-access: put a token on $cbs first), or a direction the node does not serve (amqp:not-allowed). The connection's other links go on. Rate-limited.",
    amqpCondition: 'amqp:unauthorized-access',
  },
  OUTPOST_AMQP_CBS_REQUEST_INVALID: {
    kind: 'client',
    summary: 'A CBS request on $cbs was not a put-token with a SAS token type, an audience {host}/devices/{d}[/modules/{m}] and the token as its body; answered with status-code 400. Rate-limited.',
  },
  OUTPOST_AMQP_MESSAGE_TOO_LARGE: {
    kind: 'client',
    summary: 'An AMQP message was larger than amqp.maxMessageSize; it is rejected and its link detached with amqp:link:message-size-exceeded, without buffering the rest of it. Rate-limited.',
    amqpCondition: 'amqp:link:message-size-exceeded',
  },
  OUTPOST_HUB_NOT_RUNNING: {
    kind: 'client',
    summary: 'The CLI could not reach a running hub on its control socket (<dataDir>/hub.sock); start `outpost run` or `outpost hub` with the same data directory.',
  },
  OUTPOST_HUB_CONTROL_LISTEN_FAILED: {
    kind: 'config',
    summary: 'The hub control socket (<dataDir>/hub.sock) could not be created: the path is too long for a unix socket, another running hub holds it, or it is not permitted.',
  },
  OUTPOST_NATIVE_UNAVAILABLE: {
    kind: 'config',
    summary: 'native is `require` (OUTPOST_NATIVE=require) but the native addon cannot be loaded; build it with `npm run build:native` (needs g++, python3 and Node headers) or set native to auto or off.',
  },
  OUTPOST_DASHBOARD_TOKEN_UNAVAILABLE: {
    kind: 'config',
    summary: 'The dashboard\'s operator token file (<dataDir>/dashboard.token) cannot be read or written; check that the data directory exists and belongs to the user running Outpost.',
  },
  OUTPOST_API_TOKEN_UNAVAILABLE: {
    kind: 'config',
    summary: 'The operator API\'s token file (<dataDir>/api.token) cannot be read or written; check that the data directory exists and belongs to the user running Outpost.',
  },
  OUTPOST_API_UNAUTHORIZED: {
    kind: 'client',
    summary: 'A request to the operator API (/v1/ on the HTTPS listener) had no `Authorization: Bearer <token>` header, or not the token in <dataDir>/api.token (`outpost api token`); without that file the API answers nothing but this.',
  },
  OUTPOST_TELEMETRY_AGGREGATE_CORRUPT: {
    kind: 'internal',
    summary: 'The runtime quality telemetry aggregate (<dataDir>/telemetry/aggregate.json) could not be read (truncated, edited or from an unknown format); it was moved aside to aggregate.json.corrupt and collection starts again from an empty aggregate. Nothing else is affected.',
  },
  OUTPOST_TELEMETRY_STATE_UNAVAILABLE: {
    kind: 'config',
    summary: 'The runtime quality telemetry files under <dataDir>/telemetry cannot be written; check that the data directory belongs to the user running Outpost and has free space, or opt out with telemetry.enabled=false (SendRuntimeQualityTelemetry=false).',
  },
  OUTPOST_TELEMETRY_SEND_FAILED: {
    kind: 'transient',
    summary: 'The runtime quality telemetry message was not taken by the store (store full, disk full or a write failure); the aggregate is kept and sent at the next upload.',
  },
  OUTPOST_UPSTREAM_UNREACHABLE: {
    kind: 'transient',
    summary: 'The upstream link could not connect to the parent (upstream.hostname:upstream.port) or lost its connection; `$upstream` messages stay in the store and the link reconnects with backoff (upstream.reconnectMin to upstream.reconnectMax), at once when a TCP probe sees the parent back.',
  },
  OUTPOST_UPSTREAM_TOKEN_REFUSED: {
    kind: 'config',
    summary: "The parent refused an identity's SAS token on $cbs (status 401: the identity unknown there or not in this edge device's scope, this edge device's key wrong, disabled): that identity's messages stay in the store and the token is tried again with backoff. Register the identity on the parent with this edge device as its parent (`outpost identity add <id> --parent <this edge device>`).",
  },
  OUTPOST_UPSTREAM_NO_CREDENTIALS: {
    kind: 'config',
    summary: 'A `$upstream` message cannot be signed for: this edge device has no SAS key (set upstream.connectionString, or give it a SAS entry in the registry), or the message\'s identity is disabled here. It is dropped as undeliverable. Rate-limited.',
  },
  OUTPOST_UPSTREAM_LINK_FAILED: {
    kind: 'transient',
    summary: "An identity's sending link or session to the parent was detached or refused (the log line carries the parent's AMQP condition); its unsettled messages are sent again in order on a new link.",
  },
  OUTPOST_UPSTREAM_RELAY_LINK_FAILED: {
    kind: 'transient',
    summary: "A link the upstream relay keeps for a connected client (methods, C2D or twin, docs/upstream.md) was detached or refused by the parent, or a twin request went unanswered; it is attached again with backoff, and unanswered reported patches are sent again in order.",
  },
  OUTPOST_UPSTREAM_TWIN_SYNC_FAILED: {
    kind: 'transient',
    summary: "A twin could not be synced with the parent: it refused (status 4xx) a reported-properties patch relayed for a client (the twin here keeps it, the parent does not get it; the log line carries the status), or a re-pull of the parent's twin went unanswered or failed (event upstream.twin_repull_failed: the copy here answers until the re-pull, tried again after retryInMs, from 5 s doubling up to 5 min while the connection stays).",
  },
  OUTPOST_UPSTREAM_SCOPE_SYNC_FAILED: {
    kind: 'transient',
    summary: "The device scope could not be fetched from the parent (unreachable on upstream.httpsPort, refused, or an answer that is not a scope): the identities synced before stay in the registry and keep authenticating; the fetch is tried again at the next connection or upstream.scopeRefreshInterval.",
  },
  OUTPOST_UPSTREAM_CONFIG_INVALID: {
    kind: 'config',
    summary: 'The upstream settings cannot be used: upstream.connectionString does not parse or names another device, or upstream.caFile cannot be read.',
  },
  OUTPOST_BRIDGE_CONFIG_INVALID: {
    kind: 'config',
    summary: "The deployment's $edgeHub mqttBroker.bridges is invalid (an endpoint other than $upstream, an unknown direction, a prefix with + or #, inPrefix + topic not a topic filter, an unknown key); each problem names its path. The manifest is refused with status 400 and the bridge rules in force stay.",
  },
  OUTPOST_BRIDGE_NO_UPSTREAM: {
    kind: 'config',
    summary: 'The deployment has mqttBroker.bridges but this edge device has no parent (upstream.hostname is unset): the MQTT bridge does not run. Set upstream.hostname, or remove the bridges.',
  },
  OUTPOST_BRIDGE_UNREACHABLE: {
    kind: 'transient',
    summary: "The MQTT bridge cannot reach the parent's broker (upstream.hostname:bridge.port) or lost its connection: local messages for `out` rules queue in the bridge's session (bounded by mqtt.maxQueuedMessages and mqtt.maxQueuedBytes) and the bridge reconnects with backoff (upstream.reconnectMin to upstream.reconnectMax), at once when a TCP probe sees the parent back.",
  },
  OUTPOST_BRIDGE_CONNECT_REFUSED: {
    kind: 'config',
    summary: "The parent's broker refused the MQTT bridge's CONNECT (the line carries the CONNACK reason code): register this edge device on the parent with the key of upstream.connectionString, and let the parent's policy allow it mqtt:connect. Retried with backoff.",
  },
  OUTPOST_BRIDGE_SUBSCRIBE_REFUSED: {
    kind: 'config',
    summary: "The parent's broker refused one of the MQTT bridge's subscriptions (an `in` or `both` rule; the line names the filter and the SUBACK reason code): its authorization policy must allow this edge device mqtt:subscribe on it. The bridge's other rules keep working; the subscription is asked again on the next connection.",
  },
  OUTPOST_BRIDGE_PUBLISH_REFUSED: {
    kind: 'config',
    summary: "The parent's broker refused a message of the MQTT bridge for good (PUBACK 0x87 not authorized, 0x90 topic name invalid, 0x95 too large, 0x99 bad payload format): the message is dropped and counted. Rate-limited per topic.",
  },
  OUTPOST_BRIDGE_TOPIC_DROPPED: {
    kind: 'config',
    summary: 'A bridged message was dropped because its topic, rewritten by the rule (inPrefix stripped, outPrefix prepended), is empty (as Azure does) or not a valid topic name. Rate-limited per rule.',
  },
  OUTPOST_INTERNAL: {
    kind: 'internal',
    summary: 'An unexpected internal error; the log line carries the cause.',
    mqttReason: MQTT_UNSPECIFIED_ERROR,
    amqpCondition: 'amqp:internal-error',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ErrorRegistry;

export function errorSpec(code: ErrorCode): ErrorSpec {
  return ErrorRegistry[code];
}
