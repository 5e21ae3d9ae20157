export { readManifest, parseManifest, checkEnvelope, manifestError, type DeploymentManifest, type ManifestProblem, type ManifestResult } from './load-manifest.js';
export { readDeployment } from './read-deployment.js';
export { validateDeployment, normalizeImage, type Deployment, type DeploymentResult, type RegistryCredential, type RuntimeKind } from './validate-deployment.js';
export { DeploymentStatusCode, type DeploymentStatus, type DeploymentStatusCodeValue } from './deployment-status.js';
export { readCreateOptions, chunkCreateOptions, CREATE_OPTIONS_CHUNK_CHARS } from './create-options.js';
export {
  RESTART_POLICIES,
  DEFAULT_RESTART_POLICY,
  DEFAULT_STARTUP_ORDER,
  canonicalJson,
  type ModuleSpec,
  type RestartPolicy,
  type DesiredStatus,
  type ImagePullPolicy,
} from './module-spec.js';
export { readProcessSettings, type ProcessSettings, type ProcessHealthcheck } from './process-settings.js';
export { DeploymentSource, type DeploymentSourceOptions, type SourcedDeployment } from './deployment-source.js';
export { routeProblems, programProblems } from './deployment-checks.js';
export { INSTALL_DIR, INSTALL_DIR_PLACEHOLDER } from './install-dir.js';
export { validateForApply, type ValidateForApplyOptions } from './validate-for-apply.js';
export { formatManifestProblem } from './format-manifest-problem.js';
export { deploymentFromTwins, type DesiredSection, type TwinDeploymentOptions, type TwinSourcedDeployment } from './twin-deployment.js';
