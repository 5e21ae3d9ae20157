/**
 * Route sources and how a message's source matches them (section 4.2 of the notes; Azure's
 * `CustomMessageSource.Create` and `BaseMessageSource.Match`).
 *
 * Invariant: a normalized source ends with exactly one '/', or is '/' itself, and a route matches a
 * message when the message's source (with one trailing '/') starts with it, ignoring case. So
 * `/messages` covers device and module telemetry, `/messages/modules/M` every output of M, and a
 * `*` only helps as the last character.
 */

/** trim, drop trailing '*', then (unless it is "/") drop trailing '/' and append exactly one. */
export function normalizeSource(path: string): string {
  const trimmed = path.trim().replace(/\*+$/, '');
  const withSlash = trimmed.length > 1 ? `${trimmed.replace(/\/+$/, '')}/` : trimmed;
  // BaseMessageSource applies the same trailing-slash rule once more; it only matters for "" and "/".
  return `${withSlash.replace(/\/+$/, '')}/`;
}

/** The message side: a source path with exactly one trailing '/'. */
export function messageSourceKey(source: string): string {
  return `${source.trim().replace(/\/+$/, '')}/`;
}

export function sourceMatches(routeSource: string, messageSource: string): boolean {
  return messageSourceKey(messageSource).toLowerCase().startsWith(normalizeSource(routeSource).toLowerCase());
}

// The shapes of every source EdgeHub produces; '' stands for any module id or output name.
const KNOWN_SHAPES: readonly (readonly string[])[] = [
  ['messages'],
  ['messages', 'modules', ''],
  ['messages', 'modules', '', 'outputs', ''],
  ['twinchangenotifications'],
];

/**
 * Whether any message could ever match this normalized source. Azure accepts `/message` or
 * `/*\/messages` silently and routes nothing; Outpost keeps accepting them (a deployment that
 * works in Azure must load) but `outpost check` warns.
 */
export function sourceCanMatch(normalized: string): boolean {
  const segments = normalized.toLowerCase().split('/').slice(1, -1);
  return KNOWN_SHAPES.some(
    (shape) => segments.length <= shape.length && segments.every((segment, i) => shape[i] === '' || shape[i] === segment),
  );
}
