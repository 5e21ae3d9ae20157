/**
 * Twins kept on the gateway: enough to answer a device's or module's twin GET and reported-property
 * PATCH offline (Azure's edge hub serves its stored copy when the cloud is away). Desired
 * properties arrive from upstream or the deployment with the twin issue; until then they are
 * empty at version 1.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Properties = { [key: string]: Json };

interface Twin {
  desired: Properties;
  reported: Properties;
}

export class LocalTwinStore {
  private readonly twins = new Map<string, Twin>();

  /** `{"desired":{…,"$version":n},"reported":{…,"$version":m}}` as the IoT Hub MQTT API returns it. */
  get(id: string): string {
    return JSON.stringify(this.twin(id));
  }

  /** Merges a reported-properties patch (null deletes a key); returns the new reported version. */
  patchReported(id: string, patch: unknown): { ok: true; version: number } | { ok: false; reason: string } {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return { ok: false, reason: 'the patch must be a JSON object' };
    const twin = this.twin(id);
    merge(twin.reported, patch as Properties);
    const version = Number(twin.reported.$version ?? 1) + 1;
    twin.reported.$version = version;
    return { ok: true, version };
  }

  private twin(id: string): Twin {
    let twin = this.twins.get(id);
    if (twin === undefined) {
      twin = { desired: { $version: 1 }, reported: { $version: 1 } };
      this.twins.set(id, twin);
    }
    return twin;
  }
}

function merge(target: Properties, patch: Properties): void {
  for (const key of Object.keys(patch)) {
    if (key === '__proto__' || key === '$version') continue;
    const value = patch[key]!;
    if (value === null) delete target[key];
    else if (typeof value === 'object' && !Array.isArray(value)) {
      const current = target[key];
      const child: Properties = typeof current === 'object' && current !== null && !Array.isArray(current) ? current : {};
      merge(child, value);
      target[key] = child;
    } else target[key] = value;
  }
}
