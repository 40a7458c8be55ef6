import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { AppError } from '../../errors/app-error.js';
import type { CertificateService } from '../../certificates/certificate-service.js';
import { PublishedCopies } from '../../certificates/published-copies.js';
import { encodePem } from '../../../ca/asn1/der.js';
import type { AppContext, AppState } from '../context.js';

/**
 * Public PKI repository (no authentication, as RFC 5280 relying parties expect): CRLs at the
 * CDP URL and CA certificates at the AIA caIssuers URL of our certificates. Caching follows the
 * CRL's own nextUpdate, so caches and CDNs never serve one past its validity.
 */
export function pkiRouter(deps: { certificates: CertificateService; now(): Date; copies?: PublishedCopies }): Router<AppState> {
  // While the database is unavailable, the last published copies are served (published-copies.ts).
  const copies = deps.copies ?? new PublishedCopies(null);
  const router = new Router<AppState>();

  function send(ctx: AppContext, type: string, body: Uint8Array, maxAgeSeconds: number, lastModified?: Date) {
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    ctx.set('ETag', etag);
    ctx.set('Cache-Control', `public, max-age=${Math.max(0, Math.floor(maxAgeSeconds))}, no-transform, must-revalidate`);
    if (lastModified) ctx.set('Last-Modified', lastModified.toUTCString());
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = type;
    ctx.body = Buffer.from(body);
  }

  router.get('/crl/:name', async (ctx) => {
    const match = /^([a-z0-9][a-z0-9-]{0,62}?)(-delta)?\.crl$/.exec(ctx.params.name);
    if (!match) throw new AppError('notFound', `no CRL ${ctx.params.name}`);
    const crl = await copies.through(`crl.${ctx.params.name}`, () => deps.certificates.ca.latestCrl(match[1], match[2] ? 'delta' : 'full'));
    if (!crl?.nextUpdate) throw new AppError('notFound', `no ${match[2] ? 'delta ' : ''}CRL published for issuer ${match[1]}`);
    ctx.set('Expires', crl.nextUpdate.toUTCString());
    send(ctx, 'application/pkix-crl', crl.der, (crl.nextUpdate.getTime() - deps.now().getTime()) / 1000, crl.thisUpdate);
  });

  router.get('/ca/:name', async (ctx) => {
    const match = /^([a-z0-9][a-z0-9-]{0,62})\.(crt|pem)$/.exec(ctx.params.name);
    if (!match) throw new AppError('notFound', `no CA certificate ${ctx.params.name}`);
    const cert = (await copies.through(`ca.${match[1]}`, async () => ({ der: (await deps.certificates.caCertificate(match[1])).der })))!;
    if (match[2] === 'pem') {
      send(ctx, 'application/x-pem-file', Buffer.from(encodePem(cert.der, 'CERTIFICATE')), 86_400);
      return;
    }
    send(ctx, 'application/pkix-cert', cert.der, 86_400);
  });

  return router;
}
