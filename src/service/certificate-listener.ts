import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Service } from './service.js';
import { encodePem } from '../../ca/asn1/der.js';

export interface CertificateListener {
  server: Server;
  /** The URL browsers are sent to (CERT_LOGIN_PUBLIC_URL, or https://<PUBLIC_URL host>:<port>). */
  url: string;
  close(): Promise<void>;
}

/**
 * The optional mutual-TLS listener of certificate login. The handshake asks for a client
 * certificate and names our issuing CAs (and the configured bundle) as acceptable issuers, so a
 * browser offers only matching certificates; it accepts any certificate, because the service
 * checks chain, validity and status itself and can then say why one is refused.
 */
export async function listenCertificateLogin(service: Service, config: Config, port = config.certLogin.tlsPort ?? 0): Promise<CertificateListener> {
  const { tlsCertFile, tlsKeyFile } = config.certLogin;
  if (!tlsCertFile || !tlsKeyFile) throw new Error('CERT_LOGIN_TLS_CERT_FILE and CERT_LOGIN_TLS_KEY_FILE are required for the certificate login listener');
  const issuers = await service.certificateLogin.trustedIssuers();
  const server = createServer(
    {
      cert: readFileSync(tlsCertFile),
      key: readFileSync(tlsKeyFile),
      ca: issuers.map((der) => encodePem(der, 'CERTIFICATE')),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    service.certificateLoginApp.callback(),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const url = config.certLogin.publicUrl ?? `https://${new URL(config.server.publicUrl).hostname}:${actual}`;
  service.setCertificateTlsUrl(url);
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
