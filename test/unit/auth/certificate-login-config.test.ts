import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../src/config/load-config.js';
import { addressList, certificateFromHeader } from '../../../src/web/login/certificate-login-router.js';

const PEM = `-----BEGIN CERTIFICATE-----
MIIBdDCCARugAwIBAgIUJ1Nw
-----END CERTIFICATE-----
`;

describe('certificate login configuration and inputs', () => {
  it('a TLS listener needs its certificate and key; a proxy header needs trusted proxies', () => {
    expect(() => loadConfig({ env: { CERT_LOGIN_TLS_PORT: '8443' } })).toThrow(/CERT_LOGIN_TLS_CERT_FILE/);
    expect(() => loadConfig({ env: { CERT_LOGIN_PROXY_HEADER: 'x-ssl-client-cert' } })).toThrow(/CERT_LOGIN_TRUSTED_PROXIES/);
    expect(() => loadConfig({ env: { CERT_LOGIN_PROXY_HEADER: 'x ssl' , CERT_LOGIN_TRUSTED_PROXIES: '10.0.0.1' } })).toThrow(/CERT_LOGIN_PROXY_HEADER/);
    expect(() => loadConfig({ env: { CERT_LOGIN_PROXY_HEADER: 'x-ssl-client-cert', CERT_LOGIN_TRUSTED_PROXIES: '10.0.0.0/33' } })).toThrow(/CIDR/);
    const config = loadConfig({ env: { CERT_LOGIN_PROXY_HEADER: 'X-SSL-Client-Cert', CERT_LOGIN_TRUSTED_PROXIES: '10.0.0.5, 10.0.1.0/24,fd00::/8' } });
    expect(config.certLogin).toMatchObject({ proxyHeader: 'x-ssl-client-cert', trustedProxies: ['10.0.0.5', '10.0.1.0/24', 'fd00::/8'] });
  });

  it('trusted proxies match addresses and CIDR ranges, IPv4 and IPv6; a bad entry is refused', () => {
    const list = addressList(['10.0.0.5', '10.0.1.0/24', 'fd00::/8']);
    expect(list.check('10.0.0.5', 'ipv4')).toBe(true);
    expect(list.check('10.0.1.77', 'ipv4')).toBe(true);
    expect(list.check('10.0.2.1', 'ipv4')).toBe(false);
    expect(list.check('fd00::1', 'ipv6')).toBe(true);
    expect(list.check('2001:db8::1', 'ipv6')).toBe(false);
    expect(() => addressList(['proxy.example'])).toThrow(/not an address/);
  });

  it('reads the forwarded certificate as URL-encoded PEM, PEM or base64 DER, and refuses anything else', () => {
    const der = Buffer.from('MIIBdDCCARugAwIBAgIUJ1Nw', 'base64');
    expect(Buffer.from(certificateFromHeader(encodeURIComponent(PEM)))).toEqual(der);
    expect(Buffer.from(certificateFromHeader(PEM.replace(/\n/g, ' ')))).toEqual(der);
    expect(Buffer.from(certificateFromHeader('MIIBdDCCARugAwIBAgIUJ1Nw'))).toEqual(der);
    expect(() => certificateFromHeader('%E0%A4%A')).toThrow(/URL-encoded/);
    expect(() => certificateFromHeader('<script>')).toThrow(/neither PEM nor base64/);
  });
});
