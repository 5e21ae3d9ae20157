export { readManifest, checkEnvelope, manifestError, type DeploymentManifest, type ManifestProblem, type ManifestResult } from './load-manifest.js';
