export { runChecks, type CheckReport, type RunChecksInput } from './run-checks.js';
export { type CheckResult, type CheckStatus } from './check-result.js';
export { type LoadedOrProblems } from './config-checks.js';
export { CERT_EXPIRY_WARN_DAYS } from './certificate-checks.js';
export { findRunningHub, getJson, type HubStatus, type RunningHub } from './running-hub.js';
export { buildSupportBundle, type BundleIndex, type SupportBundleOptions } from './support-bundle.js';
export { redactText, redactValue, REDACTED } from './redact.js';
export { TarWriter, type TarEntry } from './tar-writer.js';
