export type { Authenticator, AuthResult, ClientIdentity, ConnectCredentials } from './authenticator.js';
export { AnonymousAuthenticator } from './anonymous-authenticator.js';
