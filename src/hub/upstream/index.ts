export { UpstreamCredentials, type IdentityLookup, type UpstreamCredential, type UpstreamCredentialsOptions } from './upstream-credentials.js';
export { UpstreamLink, type ConnectivityWatcher, type UpstreamLinkOptions, type UpstreamSend } from './upstream-link.js';
export { upstreamTarget } from './upstream-target.js';
export { upstreamMessage } from './upstream-message.js';
export { signSasToken } from './sas-signer.js';
export { EDGE_HUB_MODULE, openUpstream, REFRESH_SCOPE_METHOD, type OpenedUpstream, type OpenUpstreamOptions } from './open-upstream.js';
export type { DeviceScopeSync } from './device-scope-sync.js';
export { UpstreamRelay, type RelayServices, type UpstreamRelayOptions } from './upstream-relay.js';
export { ReconnectSchedule, reconnectTimingOf, type ReconnectScheduleOptions, type ScheduledRetry } from './reconnect-schedule.js';
