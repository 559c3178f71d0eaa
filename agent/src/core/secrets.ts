/**
 * What counts as a secret, for every place that prints text it did not write itself: config errors
 * (a value found under a secret key), and error text from outside (a sink's upstream answer).
 */

/** A key whose name holds one of these words has a secret value: `password`, `api.tokens`, `secret`, `Authorization`, … */
const SECRET_WORDS = /password|passwd|secret|token|authorization|credential|api_?key|private_?key/i;
/** Keys whose whole value is secret, whatever the names inside: `auth` (an InfluxDB sink's), `headers` (a webhook's). */
const SECRET_CONTAINERS = new Set(['auth', 'headers']);

/** True when a value under this key is a secret. */
export function isSecretKey(key: PropertyKey): boolean {
  return typeof key === 'string' && (SECRET_WORDS.test(key) || SECRET_CONTAINERS.has(key.toLowerCase()));
}

/** True when a value at this key path is a secret or lies inside one (`api.tokens[0]`, `sinks[1].headers.X-Key`). */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  return path.some(isSecretKey);
}

/** A URL as far as it may be shown: scheme and host, no user, password, path or query (a webhook's path is its secret). */
export function urlOrigin(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)?(?:[^@/?#\s]*@)?([^/?#\s]*)/i.exec(url);
  const shown = `${m?.[1] ?? ''}${m?.[2] ?? ''}`;
  return shown.length < url.length ? `${shown}/…` : shown;
}

/**
 * Every secret string in a config section: values under secret keys, and the parts of a `url` that
 * may be one (its password, path and query), so that text echoing them can be cleaned by {@link redactSecrets}.
 */
export function secretValues(value: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, key: PropertyKey | undefined, secret: boolean): void => {
    if (typeof v === 'string') {
      // `type` selects a variant (`auth.type: password`): its value names the secret, it is not one.
      if (secret && key !== 'type') out.add(v);
      else if (key === 'url') {
        try {
          const u = new URL(v);
          if (u.password !== '') out.add(decodeURIComponent(u.password));
          if (u.pathname.length > 1 || u.search !== '') out.add(`${u.pathname}${u.search}`);
        } catch {
          // Not a URL: the schema refuses it before anything is sent.
        }
      }
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, key, secret);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, k, secret || isSecretKey(k));
    }
  };
  walk(value, undefined, false);
  return [...out];
}

const REDACTED = '[redacted]';
/** Secrets shorter than this are not searched for literally: a 3-character "secret" would blank out ordinary words. */
const MIN_LITERAL = 4;

const PATTERNS: [RegExp, (m: string, ...g: string[]) => string][] = [
  // `Authorization: Bearer abc`, `"authorization":"Basic abc"`, `proxy-authorization=…`
  [/\b((?:proxy-)?authorization)(["']?\s*[:=]\s*["']?)((?:[A-Za-z]+ +)?[^\s"',;}]+)/gi, (_m, k, sep) => `${k}${sep}${REDACTED}`],
  // A credential after its scheme; a lower-case word is prose ("Basic authentication failed"), not a credential.
  [/\b(Bearer|Basic|Token|Digest)(\s+)([A-Za-z0-9._~+/=-]{8,})/gi, (m, scheme, sp, cred) => (/^[a-z]+$/.test(cred) ? m : `${scheme}${sp}${REDACTED}`)],
  // Query or form parameters: `?token=…`, `&p=…` (InfluxDB 1.x's password), `password=…`
  [/([?&;\s]|^)((?:[a-z_]*token|password|passwd|pwd|secret|api_?key|p)=)([^&\s"',;]+)/gi, (_m, pre, k) => `${pre}${k}${REDACTED}`],
  // JSON fields: `"password":"…"`, `"access_token": "…"`
  [/("(?:[a-z_]*token|password|passwd|secret|api_?key|authorization)"\s*:\s*")([^"]*)(")/gi, (_m, k, _v, q) => `${k}${REDACTED}${q}`],
  // The password of a URL: `mqtt://user:pw@host`
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:@/\s]+):([^@/\s]+)@/gi, (_m, head) => `${head}:${REDACTED}@`],
];

/**
 * Text from outside (an upstream error, a server's answer) made fit for logs and the status API:
 * the given secret values and anything that looks like a credential replaced by `[redacted]`,
 * white space collapsed, and cut to `maxLength` characters.
 */
export function redactSecrets(text: string, secrets: readonly string[] = [], maxLength = 300): string {
  let out = text;
  // Longest first: a secret that contains another is replaced whole.
  const literal = secrets.flatMap((s) => [s, encodeURIComponent(s)]).filter((s) => s.length >= MIN_LITERAL).sort((a, b) => b.length - a.length);
  for (const s of literal) out = out.split(s).join(REDACTED);
  for (const [re, fn] of PATTERNS) out = out.replace(re, fn as (m: string, ...g: unknown[]) => string);
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > maxLength ? `${out.slice(0, maxLength - 1)}…` : out;
}
