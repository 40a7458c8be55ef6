/**
 * The form-guard matrix: one state-changing endpoint, sent the same request under each guard
 * variant (fetch metadata, Origin, the CSRF token), each answer reduced to a stable marker.
 */
import type { Browser } from '../../support/oidc-rp.js';
import { marker } from './harness.js';

export interface GuardTarget {
  browser: Browser;
  /** Absolute URL of the action. */
  url: string;
  /** The submission's own fields (without the token). */
  fields: Record<string, string>;
  /** The valid token of this session (form field `csrf`, or the X-CSRF-Token header for JSON). */
  token: string;
  /** A token that is valid, but for another session (or another interaction). */
  otherToken: string;
}

export type Encoding = 'form' | 'json' | 'multipart';

const FOREIGN = 'https://ke-gian.example';

/** A token of the right length that is not the right one. */
const wrong = (token: string) => `${token[0] === 'A' ? 'B' : 'A'}${token.slice(1)}`;

/**
 * The variants, in the order they are sent. The valid one comes last: it may do the action. The
 * variants that pass the origin check (Origin null, Sec-Fetch-Site none) carry a wrong token, so
 * they show which check refused without doing anything.
 */
export const VARIANTS: ReadonlyArray<{ id: string; headers: (origin: string) => Record<string, string>; token: (t: GuardTarget) => string | undefined }> = [
  { id: 'a Sec-Fetch-Site cross-site, valid token', headers: () => ({ 'sec-fetch-site': 'cross-site' }), token: (t) => t.token },
  { id: 'b foreign Origin, no fetch metadata, valid token', headers: () => ({ origin: FOREIGN }), token: (t) => t.token },
  { id: 'c same-origin, no token', headers: (o) => ({ origin: o, 'sec-fetch-site': 'same-origin' }), token: () => undefined },
  { id: 'd same-origin, wrong token', headers: (o) => ({ origin: o, 'sec-fetch-site': 'same-origin' }), token: (t) => wrong(t.token) },
  { id: "e same-origin, another session's token", headers: (o) => ({ origin: o, 'sec-fetch-site': 'same-origin' }), token: (t) => t.otherToken },
  { id: 'g Origin null, Sec-Fetch-Site same-origin, wrong token', headers: () => ({ origin: 'null', 'sec-fetch-site': 'same-origin' }), token: (t) => wrong(t.token) },
  { id: 'h Sec-Fetch-Site none, no Origin, wrong token', headers: () => ({ 'sec-fetch-site': 'none' }), token: (t) => wrong(t.token) },
  { id: 'f same-origin, valid token', headers: (o) => ({ origin: o, 'sec-fetch-site': 'same-origin' }), token: (t) => t.token },
];

function body(encoding: Encoding, fields: Record<string, string>, token: string | undefined): { body: BodyInit; headers: Record<string, string> } {
  if (encoding === 'json') return { body: JSON.stringify(fields), headers: { 'content-type': 'application/json', accept: 'application/json', ...(token !== undefined && { 'x-csrf-token': token }) } };
  const all = token === undefined ? fields : { csrf: token, ...fields };
  if (encoding === 'form') return { body: new URLSearchParams(all).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  const form = new FormData();
  for (const [k, v] of Object.entries(all)) form.append(k, v);
  return { body: form, headers: {} };
}

/** Sends one variant with the browser's cookies; returns its marker. */
export async function sendVariant(target: GuardTarget, encoding: Encoding, variant: (typeof VARIANTS)[number]): Promise<string> {
  const url = new URL(target.url);
  const payload = body(encoding, target.fields, variant.token(target));
  const headers: Record<string, string> = { 'accept-language': 'vi', ...payload.headers, ...variant.headers(url.origin) };
  const cookie = target.browser.jar.header(url);
  if (cookie) headers.cookie = cookie;
  const res = await fetch(url, { method: 'POST', headers, body: payload.body, redirect: 'manual' });
  target.browser.jar.store(url, res.headers.getSetCookie());
  const location = res.headers.get('location');
  return marker({ status: res.status, headers: res.headers, body: await res.text(), location: location ? new URL(location, url) : undefined });
}

/** The whole row of the matrix for one endpoint: variant → marker. */
export async function guardRow(target: GuardTarget, encoding: Encoding): Promise<Record<string, string>> {
  const row: Record<string, string> = {};
  for (const variant of VARIANTS) row[variant.id] = await sendVariant(target, encoding, variant);
  return row;
}
