import { readFileSync } from 'node:fs';

/** The [Service] section of a unit file: each key's values in order (Environment= repeats). */
export interface ServiceSection {
  get(key: string): string | undefined;
  all(key: string): string[];
}

export function readServiceSection(file: string): ServiceSection {
  const values = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      section = header[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const equals = line.indexOf('=');
    if (equals < 0) throw new Error(`${file}: not key=value: ${line}`);
    const key = line.slice(0, equals).trim();
    values.set(key, [...(values.get(key) ?? []), line.slice(equals + 1).trim()]);
  }
  return {
    get: (key) => values.get(key)?.at(-1),
    all: (key) => values.get(key) ?? [],
  };
}

/** Environment= values (KEY=value, several per line allowed; no quoting is used in our unit). */
export function unitEnvironment(service: ServiceSection): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of service.all('Environment')) {
    for (const assignment of line.split(/\s+/)) {
      const equals = assignment.indexOf('=');
      env[assignment.slice(0, equals)] = assignment.slice(equals + 1);
    }
  }
  return env;
}

/** CAP_NET_BIND_SERVICE → net_bind_service, as setpriv names capabilities. */
export function setprivCaps(capabilities: string | undefined): string[] {
  if (capabilities === undefined || capabilities === '') return [];
  return capabilities.split(/\s+/).map((cap) => cap.replace(/^CAP_/, '').toLowerCase());
}
