/**
 * The one shape of every `--json` answer (docs/cli.md, "JSON output"): scripts read PEM and
 * base64 DER, never a Node Buffer's `{"type":"Buffer","data":[…]}` or a typed array's
 * `{"0":48,…}`; dates are ISO 8601 strings; 64-bit numbers are decimal strings.
 *
 * Byte fields are renamed so that a field name always says what it holds:
 *   der          (a certificate)                 → pem + derBase64
 *   certificate  (an issuer's CA certificate)    → certificatePem + certificateDerBase64
 *   csr          (a PKCS#10 request)             → csrPem + csrDerBase64
 *   tbs          (the to-be-signed part, internal) → left out
 *   any other    bytes                           → <name>Base64
 */
const PEM_FIELDS: Record<string, { label: string; pem: string; der: string }> = {
  der: { label: 'CERTIFICATE', pem: 'pem', der: 'derBase64' },
  certificate: { label: 'CERTIFICATE', pem: 'certificatePem', der: 'certificateDerBase64' },
  csr: { label: 'CERTIFICATE REQUEST', pem: 'csrPem', der: 'csrDerBase64' },
};
const OMITTED = new Set(['tbs']);

export function pemOf(bytes: Uint8Array, label: string): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/** The base64 of the DER inside a PEM block (the block's body, without line breaks). */
export function derBase64OfPem(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, '');
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** A plain-JSON copy of `value` in the documented shape. */
export function toCliJson(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return base64(value);
  if (value instanceof ArrayBuffer) return base64(new Uint8Array(value));
  if (Array.isArray(value)) return value.map(toCliJson);
  if (value instanceof Map) return toCliJson(Object.fromEntries(value));
  if (value instanceof Set) return [...value].map(toCliJson);
  if (typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (field === undefined || OMITTED.has(key)) continue;
    const pem = PEM_FIELDS[key];
    if (field instanceof Uint8Array) {
      if (pem) {
        out[pem.pem] = pemOf(field, pem.label);
        out[pem.der] = base64(field);
      } else out[`${key}Base64`] = base64(field);
      continue;
    }
    if (pem && field === null) {
      // A missing certificate keeps its documented names, so scripts test one field.
      out[pem.pem] = null;
      out[pem.der] = null;
      continue;
    }
    out[key] = toCliJson(field);
  }
  return out;
}

/** The text a `--json` command prints: the documented shape, pretty-printed, one trailing newline. */
export function cliJsonText(value: unknown): string {
  return `${JSON.stringify(toCliJson(value), null, 2)}\n`;
}
