/**
 * Twin change notifications as routable messages (IoT Hub "Device twin change events"): source
 * `/twinChangeNotifications/`, so `FROM /twinChangeNotifications INTO …` routes them. The body is
 * `{"version": <twin version>, "properties": {"reported"|"desired": {<patch>, "$version": n}}}`,
 * the shape IoT Hub sends and `twin_change_includes(properties.reported.x)` reads.
 *
 * Application properties are IoT Hub's (hubName, deviceId, moduleId, operationTimestamp,
 * iothub-message-schema, opType); the connection ids are the twin's device and module, as IoT Hub
 * sets them, so a module input receiving the notification sees whose twin changed in `$.cdid` /
 * `$.cmid` (Azure's edge hub puts the same ids there, as `rpSender…`).
 */
import { randomUUID } from 'node:crypto';
import { SystemProperty, TWIN_CHANGE_SOURCE, type HubMessage } from '../message/index.js';
import { splitTwinId, type TwinProperties } from './twin-types.js';

export const TWIN_CHANGE_SCHEMA = 'twinChangeNotification';
export const TWIN_CHANGE_OP_UPDATE = 'updateTwin';

export interface TwinChange {
  readonly twinId: string;
  readonly section: 'desired' | 'reported';
  readonly patch: TwinProperties;
  readonly sectionVersion: number;
  readonly twinVersion: number;
}

export function twinChangeMessage(change: TwinChange, nowMs: number, hubName: string): HubMessage {
  const { deviceId, moduleId } = splitTwinId(change.twinId);
  const timestamp = new Date(nowMs).toISOString();
  const body = { version: change.twinVersion, properties: { [change.section]: { ...change.patch, $version: change.sectionVersion } } };
  const properties: Record<string, string> = {
    hubName,
    deviceId,
    ...(moduleId === undefined ? {} : { moduleId }),
    operationTimestamp: timestamp,
    'iothub-message-schema': TWIN_CHANGE_SCHEMA,
    opType: TWIN_CHANGE_OP_UPDATE,
  };
  const systemProperties: Record<string, string> = {
    [SystemProperty.ContentType]: 'application/json',
    [SystemProperty.ContentEncoding]: 'utf-8',
    [SystemProperty.MessageSchema]: TWIN_CHANGE_SCHEMA,
    [SystemProperty.MessageType]: TWIN_CHANGE_SCHEMA,
    [SystemProperty.ConnectionDeviceId]: deviceId,
    ...(moduleId === undefined ? {} : { [SystemProperty.ConnectionModuleId]: moduleId }),
    [SystemProperty.EdgeMessageId]: randomUUID(),
    [SystemProperty.EnqueuedTime]: timestamp,
  };
  return { source: TWIN_CHANGE_SOURCE, body: Buffer.from(JSON.stringify(body), 'utf8'), properties, systemProperties, enqueuedAtMs: nowMs };
}
