/**
 * Secrets out of everything a support bundle holds. Two layers: structured values lose every
 * string under a secret-sounding key (and a module env var's `value` under one), and every string
 * and log line loses the secret shapes Azure IoT uses (SharedAccessKey=, SharedAccessSignature
 * tokens, sig=, PEM private keys, bearer tokens, URL passwords, NAME=value for secret names) and
 * any long padded base64 run (a SAS key under an innocent name: 32 or 64 random bytes).
 */

export const REDACTED = '[REDACTED]';

/** Key names whose values are secrets. */
const SECRET_NAME = /(password|passwd|passphrase|secret|token|signature|sharedaccesskey|primarykey|secondarykey|connectionstring|connection_string|apikey|api_key|privatekey|private_key|accesskey|access_key)/i;
/** …unless the name says it holds something else about the secret (a path, a size, a TTL). */
const NOT_A_SECRET = /(file|path|dir|size|count|skew|ttl|enabled|expiry|expires)$/i;

const TEXT_RULES: readonly [RegExp, string][] = [
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
  [/(SharedAccessKey\s*=\s*)[^;"'\s,]+/gi, `$1${REDACTED}`],
  [/(SharedAccessSignature\s+)[^"'\s,;]+/g, `$1${REDACTED}`],
  [/([?&]sig=)[^&"'\s,;]+/gi, `$1${REDACTED}`],
  [/(\bBearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${REDACTED}`],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/"']+:)[^\s@/"']+@/gi, `$1${REDACTED}@`],
  [/(\b[A-Za-z0-9_.-]*(?:password|passwd|secret|token|sharedaccesskey|apikey|api_key|private_key|accesskey|access_key)[A-Za-z0-9_.-]*"?\s*[=:]\s*"?)(?!SharedAccessSignature\b|\[REDACTED|[{[]|\d+\b)([^\s"';,&]+)/gi, `$1${REDACTED}`],
  [/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={1,2}(?![A-Za-z0-9+/=])/g, REDACTED],
];

export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_RULES) out = out.replace(pattern, replacement);
  return out;
}

function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_A_SECRET.test(name);
}

/** A copy of `value` with secrets replaced; `underSecret` is set inside a secret-named key (env var objects: {value}). */
export function redactValue(value: unknown, underSecret = false): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, underSecret));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const secret = isSecretName(key);
    if (typeof item === 'string' && item !== '' && (secret || (underSecret && key === 'value'))) out[key] = REDACTED;
    else out[key] = redactValue(item, secret);
  }
  return out;
}
