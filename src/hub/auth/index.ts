export type { Authenticator, AuthMethod, AuthResult, ClientIdentity, ConnectCredentials, IdentityClaim } from './authenticator.js';
export { claimFromClientId } from './claim-from-client-id.js';
export { AnonymousAuthenticator } from './anonymous-authenticator.js';
export { IdentityAuthenticator, type IdentityAuthenticatorOptions, type IdentityAuthSettings } from './identity-authenticator.js';
export { AuthFailureLimiter, type AuthFailureLimiterOptions } from './auth-failure-limiter.js';
export { IdentityRegistry, type IdentityRegistryOptions, type KeyRotation, type NewIdentity, type RegistryEntry, type UpsertResult } from './identity-registry.js';
export {
  generateKey,
  identityKey,
  normalizeThumbprint,
  type IdentityAuthentication,
  type IdentityRecord,
  type IdentitySource,
  type IdentityStatus,
} from './identity-record.js';
export { identitiesFile } from './identity-file.js';
export { buildConnectionString, type ConnectionStringOptions } from './connection-string.js';
export { parseSasToken, type SasToken, type SasTokenParse } from './sas-token.js';
export { SasVerifier, type SasVerifierOptions } from './sas-verifier.js';
export { TokenCache } from './token-cache.js';
export { X509Verifier, type X509VerifierOptions } from './x509-verifier.js';
export { mayActFor, type DeviceScope } from './may-act-for.js';
export {
  Authorizer,
  DEFAULT_POLICY,
  type AuthorizerOptions,
  type ConnectedClient,
  type PolicyReplacement,
  type Revocation,
} from './policy/authorizer.js';
export { BrokerPolicy, type PolicyTarget, type PolicyUpdate } from './policy/broker-policy.js';
export { policyFromDeployment, deploymentPolicyProblems, type DeploymentPolicyProblem } from './policy/deployment-policy.js';
export { parsePolicy, OPERATIONS, type Operation, type PolicyParse, type PolicyProblem, type PolicyRule } from './policy/parse-policy.js';
export { WorkloadServer, type WorkloadServerOptions } from './workload/workload-server.js';
export {
  moduleEnvironment,
  connectionStringEnvironment,
  WORKLOAD_API_VERSION,
  type ModuleEnvironmentOptions,
  type ConnectionStringEnvironmentOptions,
} from './workload/module-environment.js';
export { clientIdRefusal, sessionOwnerKey, type ClientIdRefusal, type IdentityLookup } from './session-owner.js';
export { authChainProblem, deviceChain, formatAuthChain, identityChain, onBehalfOfProblem, type ChainLookup } from './auth-chain.js';
export { deviceScopeOf, NESTED_SCOPE_API_VERSION, recordsFromScope, SCOPE_API_VERSION, ScopeOperation, scopeOwners, scopePage, scopeTarget, type ScopeAuthentication, type ScopeDevice, type ScopeModule, type ScopeResult, type ScopeSource } from './device-scope.js';
