/**
 * One normaliser for every characterisation snapshot: whatever differs between two runs (ports,
 * interaction uids, form tokens, serials, random blobs, UUIDs, dates, request ids, ETags, counts
 * that depend on timing) becomes a stable token, so the same snapshot holds on PostgreSQL and on
 * the embedded database, run after run.
 *
 * Captured values are numbered per call in order of first appearance (`<csrf-1>`, `<csrf-2>`):
 * a snapshot still shows which values were equal (the same token in two forms) and which were not.
 */

/** Literal values the test knows (origins, an upstream's URL): replaced first, raw and URL-encoded. */
export type Literals = ReadonlyArray<readonly [value: string, token: string]>;

let literals: Array<readonly [string, string]> = [];

/** Sets the literals of this test file (its service's origin, the upstream simulator's origin). */
export function setLiterals(values: Literals): void {
  const all = values.flatMap(([v, tok]) => [[v, tok] as const, [encodeURIComponent(v), tok] as const]);
  literals = all.filter(([v]) => v.length > 0).sort((a, b) => b[1].length - a[1].length || b[0].length - a[0].length);
}

/** Capture rules: the first group is a volatile value, renamed `<category-N>` everywhere in the text. */
const CAPTURES: ReadonlyArray<readonly [category: string, pattern: RegExp]> = [
  ['uid', /\/interaction\/([A-Za-z0-9_-]{8,})/g],
  ['resume', /\/oidc\/auth\/([A-Za-z0-9_-]{8,})/g],
  ['csrf', /name="(?:csrf|xsrf)"\s+value="([^"]+)"/g],
  ['csrf', /data-csrf="([^"]+)"/g],
  ['secret', /id="client-secret">([^<]+)</g],
  ['param', /[?&](?:amp;)?(?:state|code|nonce|ticket|result|code_challenge|session_state)=([^&"'\s<]+)/g],
  ['uuid', /\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/gi],
  ['fp', /\b((?:[0-9A-Fa-f]{2}:){15,}[0-9A-Fa-f]{2})\b/g],
  // The WebAuthn options the passkey page embeds (HTML-escaped JSON): the challenge, credential ids.
  ['challenge', /&quot;challenge&quot;:&quot;([A-Za-z0-9_-]+)&quot;/g],
  ['credential', /&quot;id&quot;:&quot;([A-Za-z0-9_-]+)&quot;/g],
  ['hex', /(?<![A-Za-z0-9_-])([0-9a-fA-F]{16,})(?![A-Za-z0-9_-])/g],
  // Safety net: a random base64url blob (upper, lower and a digit, 20+ characters).
  ['blob', /(?<![A-Za-z0-9_-])((?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,})(?![A-Za-z0-9_-])/g],
];

const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';

/** Plain rewrites: dates and times in every form the service prints, and counts that depend on timing. */
const REWRITES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g, '<iso-time>'],
  [new RegExp(`${WEEKDAY}, \\d{2} ${MONTH} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT`, 'g'), '<http-date>'],
  // vi-VN and en-GB, short (console) and medium (account page), Asia/Ho_Chi_Minh.
  [/\b\d{2}:\d{2} \d{1,2} thg \d{1,2}, \d{4}/g, '<date>'],
  [/\b\d{2}:\d{2} \d{1,2}\/\d{1,2}\/\d{2,4}/g, '<date>'],
  [/\b\d{2}\/\d{2}\/\d{4},? \d{2}:\d{2}/g, '<date>'],
  [new RegExp(`\\b\\d{1,2} ${MONTH} \\d{4},? \\d{2}:\\d{2}`, 'g'), '<date>'],
  // Issuer ids carry the year they were made in.
  [/\b(root|issuing|ocsp-signer|ocsp)-20\d{2}\b/g, '$1-<year>'],
  [/\b(CA|Signer) 20\d{2}\b/g, '$1 <year>'],
  [/\b\d+ (phút|minutes?|giây|seconds?)\b/g, '<n> $1'],
  [/\b\d+ (sự kiện|events?)\b/g, '<n> $1'],
  [/\b(127\.0\.0\.1|localhost):\d{2,5}\b/g, '$1:<port>'],
];

/** The text with every volatile value replaced (see the module comment). */
export function normalise(input: string): string {
  let text = input;
  for (const [value, token] of literals) text = text.split(value).join(token);
  for (const [pattern, replacement] of REWRITES) text = text.replace(pattern, replacement);
  // The console's state is its return path (base64url), which is behaviour: shown decoded.
  text = text.replace(/([?&](?:amp;)?state=)([A-Za-z0-9_-]{4,})/g, (m, head: string, value: string) => {
    const decoded = Buffer.from(value, 'base64url').toString('utf8');
    return /^\/[\x21-\x7e]*$/.test(decoded) ? `${head}<base64url:${decoded}>` : m;
  });
  const tokens = new Map<string, string>();
  const counters = new Map<string, number>();
  for (const [category, pattern] of CAPTURES) {
    for (const m of text.matchAll(pattern)) {
      const value = m[1];
      if (!value || tokens.has(value) || value.startsWith('<')) continue;
      // A parameter a test chose (`state=trang-thai-co-dinh`) is no random value: kept.
      if (category === 'param' && /^[a-z-]+$/.test(value)) continue;
      const n = (counters.get(category) ?? 0) + 1;
      counters.set(category, n);
      tokens.set(value, `<${category}-${n}>`);
    }
    // Longest first, so a value that contains another is replaced whole.
    for (const [value, token] of [...tokens].sort((a, b) => b[0].length - a[0].length)) text = text.split(value).join(token);
  }
  return text;
}

/** Values of these JSON keys are volatile by nature (challenges, key material, ids). */
const VOLATILE_KEYS = new Set(['challenge', 'requestId', 'kid', 'x', 'y', 'n', 'id', 'rawId', 'credentialId', 'createdAt']);

/** A JSON value with volatile keys masked and every string normalised. */
export function normaliseJson(value: unknown, keys: ReadonlySet<string> = VOLATILE_KEYS): unknown {
  const walk = (v: unknown, key?: string): unknown => {
    if (key && keys.has(key) && (typeof v === 'string' || typeof v === 'number')) return `<${key}>`;
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return typeof v === 'string' ? normalise(v) : v;
  };
  return walk(value);
}

/** A Set-Cookie line with a random value masked: name, short values (`lang=en`) and attributes are behaviour. */
export const normaliseSetCookie = (line: string): string =>
  normalise(line.replace(/^([^=]+)=([^;]*)/, (_m, name: string, value: string) => `${name}=${value.length > 12 ? '<value>' : value}`));
