import { randomUUID } from 'node:crypto';
import { API_VERSION, LinkProperty } from './upstream-constants.js';

/**
 * Link properties of a method or twin link as the Azure IoT device SDK sends them (the
 * reference's capture, section E): client version, api-version, and a channel correlation id
 * `methods:<uuid>` / `twin:<uuid>` shared by the link pair; and, for an identity this edge device
 * acts for, its `com.microsoft:auth-chain`, as on its telemetry link (a parent checks it on every
 * link that carries one).
 */
export function relayLinkProperties(clientVersion: string, channel: 'methods' | 'twin' | undefined, authChain: string | undefined): Record<string, string> {
  const properties: Record<string, string> = { [LinkProperty.ClientVersion]: clientVersion };
  if (authChain !== undefined) properties[LinkProperty.AuthChain] = authChain;
  if (channel !== undefined) {
    properties[LinkProperty.ApiVersion] = API_VERSION;
    properties[LinkProperty.ChannelCorrelationId] = `${channel}:${randomUUID()}`;
  }
  return properties;
}

/** Closes a link or session whatever state it is in (the connection may be gone under it). */
export function closeQuietly(link: { is_open(): boolean; is_closed(): boolean; close(): void; removeAllListeners(): unknown } | undefined): void {
  if (link === undefined) return;
  link.removeAllListeners();
  try {
    if (!link.is_closed()) link.close();
  } catch {
    /* the connection closed under it */
  }
}
