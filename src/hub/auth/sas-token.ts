/**
 * Parses an IoT Hub SAS token (notes 5.2; EdgeHub `SharedAccessSignature.cs`, `SasTokenHelper`):
 *
 *   SharedAccessSignature sr={url-encoded resource}&sig={url-encoded base64}&se={expiry}[&skn={policy}]
 *
 * - The text splits on single whitespace characters into exactly two parts (two spaces make an
 *   empty third part, as .NET's `Split()`), and the first is `SharedAccessSignature`, exactly.
 * - Fields are `&`-separated `k=v` in any order; `sr`, `sig` and `se` are required; a repeated or
 *   empty field is refused; unknown fields are ignored (as EdgeHub does).
 * - `sr` and `se` are kept raw, as sent, because that is what was signed; `sig` and `skn` are
 *   url-decoded.
 * - The audience (`sr` decoded) is `{host}/devices/{device}` or `{host}/devices/{device}/modules/{module}`.
 *   C# builders encode the ids once more inside `sr`, the Node SDK does not; both spellings of
 *   each id are kept and either may match the connecting identity.
 *
 * Pure and allocation-light; returns a reason instead of throwing. Reasons never quote the token.
 */

export interface SasToken {
  /** `sr` exactly as sent: the signed text starts with it. */
  readonly resourceRaw: string;
  /** `se` exactly as sent: the signed text ends with it. */
  readonly expiryRaw: string;
  readonly expirySec: number;
  /** `sig`, url-decoded: the base64 signature. */
  readonly signature: string;
  readonly keyName: string | undefined;
  /** Host of the audience, as written (compared case-insensitively). */
  readonly hostname: string;
  /** The device id of the audience: decoded once, and decoded twice when that differs. */
  readonly deviceIds: readonly string[];
  /** The module id of the audience, both spellings; absent for a device-scope token. */
  readonly moduleIds: readonly string[] | undefined;
}

export type SasTokenParse = { readonly ok: true; readonly token: SasToken } | { readonly ok: false; readonly reason: string };

const PREFIX = 'SharedAccessSignature';
// Far above any real token (about 200 characters); bounds the work an attacker can ask for.
const MAX_TOKEN_CHARS = 4096;
const EXPIRY_PATTERN = /^\d{1,15}(?:\.\d{1,9})?$/;

function refuse(reason: string): SasTokenParse {
  return { ok: false, reason };
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The id as decoded once, plus its second decoding when that is valid and different. */
function spellings(segment: string): string[] {
  const twice = decode(segment);
  return twice === undefined || twice === segment ? [segment] : [segment, twice];
}

export function parseSasToken(text: string): SasTokenParse {
  if (text.length > MAX_TOKEN_CHARS) return refuse('token is too long');
  const parts = text.split(/\s/);
  if (parts.length !== 2) return refuse('expected "SharedAccessSignature <fields>" with exactly one space');
  if (parts[0] !== PREFIX) return refuse('token does not start with SharedAccessSignature');

  let sr: string | undefined;
  let sig: string | undefined;
  let se: string | undefined;
  let skn: string | undefined;
  for (const field of parts[1]!.split('&')) {
    const eq = field.indexOf('=');
    if (eq <= 0) return refuse('token has an empty field or a field without a name');
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    const seen = name === 'sr' ? sr : name === 'sig' ? sig : name === 'se' ? se : name === 'skn' ? skn : undefined;
    if (seen !== undefined) return refuse(`token repeats the field ${name}`);
    if (name === 'sr') sr = value;
    else if (name === 'sig') sig = value;
    else if (name === 'se') se = value;
    else if (name === 'skn') skn = value;
  }
  if (sr === undefined || sr.length === 0) return refuse('token has no sr (resource)');
  if (sig === undefined || sig.length === 0) return refuse('token has no sig (signature)');
  if (se === undefined || se.length === 0) return refuse('token has no se (expiry)');
  if (!EXPIRY_PATTERN.test(se)) return refuse('token expiry (se) is not a number of seconds');

  const signature = decode(sig);
  if (signature === undefined) return refuse('token signature is not url-encoded correctly');
  const keyName = skn === undefined ? undefined : decode(skn);
  if (skn !== undefined && keyName === undefined) return refuse('token skn is not url-encoded correctly');

  const audience = decode(sr);
  if (audience === undefined) return refuse('token resource (sr) is not url-encoded correctly');
  const levels = audience.split('/');
  const isDevice = levels.length === 3;
  const isModule = levels.length === 5 && levels[3]!.toLowerCase() === 'modules';
  if ((!isDevice && !isModule) || levels[1]!.toLowerCase() !== 'devices') {
    return refuse('token resource (sr) is not {host}/devices/{device}[/modules/{module}]');
  }
  const [hostname, , device, , module] = levels as [string, string, string, string?, string?];
  if (hostname.length === 0 || device.length === 0 || (isModule && module!.length === 0)) {
    return refuse('token resource (sr) has an empty host or id');
  }
  return {
    ok: true,
    token: {
      resourceRaw: sr,
      expiryRaw: se,
      expirySec: Number(se),
      signature,
      keyName,
      hostname,
      deviceIds: spellings(device),
      moduleIds: isModule ? spellings(module!) : undefined,
    },
  };
}
