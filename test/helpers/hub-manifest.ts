/** A deployment manifest with no modules and the given $edgeHub routes: for tests of the hub alone. */
export function hubManifest(routes: Readonly<Record<string, unknown>>, timeToLiveSecs = 7200): string {
  return JSON.stringify({
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } },
      $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes, storeAndForwardConfiguration: { timeToLiveSecs } } },
    },
  });
}
