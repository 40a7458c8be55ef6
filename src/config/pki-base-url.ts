import type { Config } from './schema.js';

/**
 * docs/ca.md, "URL settings": where relying parties fetch CRLs, CA certificates and OCSP answers
 * (CDP, AIA). Plain HTTP: a relying party checking revocation must not need TLS first (whose
 * certificate it would have to check for revocation too), and the CA/B Forum requires http CDP
 * and OCSP URLs. PKI_BASE_URL, else the origin of PUBLIC_URL over http.
 */
export function pkiBaseUrl(config: Pick<Config, 'server' | 'ca'>): string {
  if (config.ca.pkiBaseUrl) return config.ca.pkiBaseUrl;
  const url = new URL(config.server.publicUrl);
  url.protocol = 'http:';
  if (url.port === '443') url.port = '';
  return url.toString().replace(/\/+$/, '');
}

/** A URL that only this machine can reach: baked into a CA certificate, nobody else can fetch it. */
export function isLocalUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const host = new URL(value).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0' || host === '::';
}
