/**
 * Docker `createOptions` as Azure stores them: a *string* of ContainerCreate JSON, split by hand
 * or by the agent over `createOptions`, `createOptions01` … `createOptions99` because a twin
 * string value is capped (EA.Docker/DockerConfig.cs, JsonEx.ChunkedValue with ignoreCase).
 */

/** The agent writes chunks of this many characters (EA.Docker/Constants.TwinValueMaxSize). */
export const CREATE_OPTIONS_CHUNK_CHARS = 512;
/** createOptions plus createOptions01 … createOptions99. */
export const CREATE_OPTIONS_MAX_CHUNKS = 100;

export type CreateOptionsResult =
  | { readonly ok: true; readonly options: Readonly<Record<string, unknown>>; readonly text: string }
  | { readonly ok: false; readonly field: string; readonly message: string };

const CHUNK_KEY = /^createoptions(\d{2})?$/i;

/** Joins the chunks of `settings` in order and parses them; "" / whitespace / "null" mean {}. */
export function readCreateOptions(settings: Readonly<Record<string, unknown>>): CreateOptionsResult {
  const chunks = new Map<number, { key: string; value: unknown }>();
  for (const [key, value] of Object.entries(settings)) {
    const match = CHUNK_KEY.exec(key);
    if (match === null) continue;
    const index = match[1] === undefined ? 0 : Number(match[1]);
    if (match[1] === '00') return { ok: false, field: key, message: 'chunks are numbered from 01; the first chunk is "createOptions"' };
    chunks.set(index, { key, value });
  }
  if (chunks.size === 0) return { ok: true, options: {}, text: '' };
  let text = '';
  for (let index = 0; index < CREATE_OPTIONS_MAX_CHUNKS; index++) {
    const chunk = chunks.get(index);
    if (chunk === undefined) {
      const later = [...chunks.keys()].filter((i) => i > index).sort((a, b) => a - b)[0];
      if (later !== undefined) {
        const name = index === 0 ? 'createOptions' : `createOptions${String(index).padStart(2, '0')}`;
        return { ok: false, field: chunks.get(later)!.key, message: `chunk follows a missing ${name}; chunks must be consecutive` };
      }
      break;
    }
    if (typeof chunk.value !== 'string') return { ok: false, field: chunk.key, message: 'must be a string holding (part of) Docker ContainerCreate JSON' };
    text += chunk.value;
  }
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'null') return { ok: true, options: {}, text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, field: 'createOptions', message: `the joined createOptions chunks are not valid JSON (${reason})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, field: 'createOptions', message: 'must hold a JSON object (Docker ContainerCreate options)' };
  }
  return { ok: true, options: parsed as Record<string, unknown>, text };
}

/** Splits serialized options the way Azure's agent reports them. */
export function chunkCreateOptions(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i * CREATE_OPTIONS_CHUNK_CHARS < text.length && i < CREATE_OPTIONS_MAX_CHUNKS; i++) {
    out[i === 0 ? 'createOptions' : `createOptions${String(i).padStart(2, '0')}`] = text.slice(i * CREATE_OPTIONS_CHUNK_CHARS, (i + 1) * CREATE_OPTIONS_CHUNK_CHARS);
  }
  if (text.length === 0) out.createOptions = '';
  return out;
}
