import { parseManifest, readManifest } from './load-manifest.js';
import { validateDeployment, type DeploymentResult, type RuntimeKind } from './validate-deployment.js';

/**
 * A manifest file (or its text) to a validated Deployment, or Azure's status code and every
 * problem with its JSON path. `runtime` adds the checks of that module runtime.
 */
export function readDeployment(file: string, runtime?: RuntimeKind, text?: string): DeploymentResult {
  const manifest = text === undefined ? readManifest(file) : parseManifest(file, text);
  if (!manifest.ok) return manifest;
  return validateDeployment(manifest.manifest, runtime);
}
