/**
 * Describes a JSON.parse failure by line and column without quoting the text: V8's messages
 * quote the input ("Unexpected token 's', "{"primaryKey": s…" is not valid JSON"), and the
 * identity file holds keys, which must never reach a log line.
 */
export function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message)?.[1];
  const offset = position !== undefined ? Number(position) : /Unexpected end of JSON input/.test(message) ? text.length : undefined;
  const token = /^Unexpected token '(.)'/.exec(message)?.[1];
  const what = token !== undefined && /[{}[\]:,]/.test(token) ? `unexpected '${token}'` : 'not valid JSON';
  if (offset === undefined) return what;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${what} at line ${line}, column ${column}`;
}
