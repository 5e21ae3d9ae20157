import type { PeerCertificate } from 'node:tls';
import type { ConnectCredentials, IdentityClaim } from '../../auth/index.js';
import { parseIotHubUsername } from './iothub/index.js';

export interface MqttLogin {
  readonly listener: string;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly peerCertificate: PeerCertificate | undefined;
}

/**
 * An MQTT CONNECT's login as the protocol-neutral credentials the authenticator takes: the IoT
 * Hub user name (`{hub}/{device}[/{module}]/?api-version=…`, checked against the client id) is the
 * claim, read only when the authenticator asks (a reconnect with the same login is known again
 * without parsing it), the password is the SAS token. One object per CONNECT, its method on the
 * prototype: nothing else is allocated for it.
 */
export class MqttCredentials implements ConnectCredentials {
  readonly protocol = 'mqtt';
  readonly listener: string;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly clientId: string;
  readonly anonymous: boolean;
  readonly sasToken: Buffer | undefined;
  readonly peerCertificate: PeerCertificate | undefined;
  readonly loginKey: string | undefined;

  constructor(login: MqttLogin) {
    this.listener = login.listener;
    this.secure = login.secure;
    this.remoteAddress = login.remoteAddress;
    this.clientId = login.clientId;
    this.anonymous = login.username === undefined && login.password === undefined;
    this.sasToken = login.password;
    this.peerCertificate = login.peerCertificate;
    this.loginKey = login.username;
  }

  claimIdentity(): IdentityClaim {
    const username = this.loginKey;
    if (username === undefined) return { ok: false, code: 'OUTPOST_AUTH_BAD_CREDENTIALS', reason: 'an IoT Hub client must send a username {hub}/{device}[/{module}]/?api-version=…' };
    const parsed = parseIotHubUsername(username, this.clientId);
    if (!parsed.ok) return { ok: false, code: parsed.code, reason: parsed.reason };
    const { deviceId, moduleId, modelId } = parsed.connect;
    return { ok: true, deviceId, ...(moduleId === undefined ? {} : { moduleId }), ...(modelId === undefined ? {} : { modelId }) };
  }
}
