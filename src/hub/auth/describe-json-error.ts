/**
 * Describes a JSON.parse failure by line and column without quoting the text: V8's messages
 * quote the input ("Unexpected token 's', "{"primaryKey": s…" is not valid JSON") and often give
 * no position; the identity file holds keys, which must never reach a log line.
 */
export function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message)?.[1];
  const offset = position !== undefined ? Number(position) : errorOffset(text);
  if (offset === undefined) return 'not valid JSON';
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  const found = text[offset];
  const what = found === undefined ? 'unexpected end' : /[{}[\]:,]/.test(found) ? `unexpected '${found}'` : 'unexpected text';
  return `not valid JSON: ${what} at line ${line}, column ${column}`;
}

/** Offset of the first syntax error, by a small validating scan (no values are built). */
function errorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const expect = (c: string) => (text[i] === c ? i++ : fail());
  const string = () => {
    expect('"');
    while (i < text.length && text[i] !== '"') {
      if (text[i]! < ' ') fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    expect('"');
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (close === '}') {
          ws();
          string();
          ws();
          expect(':');
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else return void expect(close);
      }
    }
    if (c === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (literal === null) fail();
    i += literal![0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : undefined;
  } catch (offset) {
    return typeof offset === 'number' ? offset : undefined;
  }
}
