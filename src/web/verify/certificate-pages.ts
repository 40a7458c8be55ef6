import Router from '@koa/router';
import { AppError } from '../../errors/app-error.js';
import type { CertificateRecord } from '../../../ca/records.js';
import { certificateFacts, parseCertificate } from '../../../ca/asn1/certificate.js';
import type { CertificateService } from '../../certificates/certificate-service.js';
import { ORGANISATION_PROFILES, isIndividual } from '../../certificates/personal-data.js';
import { pickLanguage, type Language } from '../locales/messages.js';
import { html, sendPage, type Raw } from '../views/html.js';
import { layout } from '../views/pages.js';
import type { AppState } from '../context.js';
import { commonName, utc } from './verify-views.js';
import { pt, type PortalMessageKey } from './verify-messages.js';

/**
 * Public certificate pages (docs/verify.md): a certificate's status, validity, issuer and links by
 * its serial, and a search by organisation name that lists organisation seals and TLS
 * certificates only. Decree 13/2023/NĐ-CP: an individual's certificate is found by its serial
 * alone, and no page shows a personal identifier, e-mail or phone; an individual's certificate
 * itself (whose subject carries the identifier) is not offered for download here.
 */



/** An organisation's name as its certificate gives it: the CN, then the parent body (O). */
const organisationName = (c: CertificateRecord): string => [c.subjectDn ? commonName(c.subjectDn) : null, c.agency].filter((v, i, all) => v && all.indexOf(v) === i).join(', ') || c.serial;

const SERIAL = /^[0-9a-fA-F:]{1,64}$/;

function statusOf(c: CertificateRecord, now: Date): { key: PortalMessageKey; since: Date | null } {
  if (c.status === 'revoked') return { key: 'cert.status.revoked', since: c.revokedAt };
  if (c.status === 'hold') return { key: 'cert.status.hold', since: c.revokedAt ?? c.statusChangedAt };
  if (c.notAfter <= now) return { key: 'cert.status.expired', since: c.notAfter };
  return { key: 'cert.status.good', since: null };
}

function kindOf(c: CertificateRecord): PortalMessageKey {
  if (isIndividual(c)) return 'cert.kind.person';
  return c.profileId === 'organisation-seal' ? 'cert.kind.organisation-seal' : c.profileId === 'tls-server' ? 'cert.kind.tls-server' : 'cert.kind.other';
}

function certificatePage(lang: Language, c: CertificateRecord, issuerName: string, now: Date): string {
  const status = statusOf(c, now);
  const individual = isIndividual(c);
  const facts = c.der ? certificateFacts(parseCertificate(c.der).certificate) : null;
  const body = html`<h1>${pt(lang, 'cert.title', { serial: c.serial })}</h1>
<dl class="details">
  <dt>${pt(lang, 'cert.status')}</dt><dd data-status="${c.status}">${pt(lang, status.key)}${status.since ? html` ${pt(lang, 'cert.statusSince', { time: utc(status.since.toISOString()) })}` : ''}</dd>
  ${c.status !== 'good' && c.revocationReason ? html`<dt>${pt(lang, 'cert.reason')}</dt><dd>${c.revocationReason}</dd>` : ''}
  <dt>${pt(lang, 'cert.kind')}</dt><dd>${pt(lang, kindOf(c))}</dd>
  <dt>${pt(lang, 'cert.holder')}</dt><dd>${individual ? pt(lang, 'cert.personHolder') : organisationName(c)}</dd>
  <dt>${pt(lang, 'cert.validity')}</dt><dd>${pt(lang, 'cert.validityRange', { from: utc(c.notBefore.toISOString()), to: utc(c.notAfter.toISOString()) })}</dd>
  <dt>${pt(lang, 'cert.issuer')}</dt><dd>${issuerName}</dd>
</dl>
<h2>${pt(lang, 'cert.links')}</h2>
<ul>
  ${individual ? html`<li>${pt(lang, 'cert.personalNoDownload')}</li>` : html`<li><a href="/certificates/${c.serial}.pem">${pt(lang, 'cert.link.certificate')}</a></li><li><a href="/certificates/${c.serial}/chain.p7b">${pt(lang, 'cert.link.chain')}</a></li>`}
  ${facts?.crlUrls.slice(0, 1).map((u) => html`<li><a href="${u}">${pt(lang, 'cert.link.crl')}</a></li>`)}
  ${facts?.ocspUrls.slice(0, 1).map((u) => html`<li>${pt(lang, 'cert.link.ocsp')}: <code>${u}</code></li>`)}
</ul>`;
  return layout(lang, pt(lang, 'cert.title', { serial: c.serial }), body, `/certificates/${c.serial}`);
}

function searchPage(lang: Language, query: string, results: CertificateRecord[] | null, now: Date): string {
  const list: Raw = results
    ? html`<section aria-labelledby="results"><h2 id="results">${pt(lang, 'cert.search.results', { count: results.length })}</h2>
${results.length ? html`<ul class="results">${results.map((c) => html`<li><a href="/certificates/${c.serial}">${organisationName(c)}</a> — ${pt(lang, kindOf(c))}, ${pt(lang, statusOf(c, now).key)}</li>`)}</ul>` : html`<p>${pt(lang, 'cert.search.none')}</p>`}</section>`
    : html``;
  const body = html`<h1>${pt(lang, 'cert.search.title')}</h1>
<p>${pt(lang, 'cert.search.intro')}</p>
<form method="get" action="/certificates">
  <label for="q">${pt(lang, 'cert.search.query')}</label>
  <input id="q" name="q" type="search" value="${query}">
  <label for="serial">${pt(lang, 'cert.search.serial')}</label>
  <input id="serial" name="serial" type="search" spellcheck="false">
  <button type="submit">${pt(lang, 'cert.search.submit')}</button>
</form>
${list}
<link rel="stylesheet" href="/static/verify.css">`;
  return layout(lang, pt(lang, 'cert.search.title'), body, '/certificates');
}

export function certificatePagesRouter(deps: { certificates: CertificateService; now(): Date }): Router<AppState> {
  const router = new Router<AppState>();

  router.get('/certificates', async (ctx) => {
    const lang = pickLanguage(ctx);
    const serial = typeof ctx.query.serial === 'string' ? ctx.query.serial.trim() : '';
    if (serial) {
      if (!SERIAL.test(serial)) throw new AppError('validationFailed', 'serial: hexadecimal');
      ctx.redirect(`/certificates/${serial.replace(/:/g, '').toLowerCase()}`);
      return;
    }
    const query = typeof ctx.query.q === 'string' ? ctx.query.q.trim().slice(0, 200) : '';
    let results: CertificateRecord[] | null = null;
    if (query.length >= 2) {
      // The search repository's own API, once per organisation profile; individuals never listed.
      const pages = await Promise.all(ORGANISATION_PROFILES.map((profileId) => deps.certificates.search({ text: query, profileId, limit: 50 })));
      results = pages.flatMap((p) => p.items).filter((c) => !isIndividual(c));
    }
    ctx.set('Cache-Control', 'no-store');
    sendPage(ctx, 200, searchPage(lang, query, results, deps.now()));
  });

  router.get('/certificates/:serial', async (ctx) => {
    const match = /^([0-9a-fA-F:]{1,64})(\.pem)?$/.exec(ctx.params.serial);
    if (!match) throw new AppError('notFound', `no certificate ${ctx.params.serial}`);
    const cert = await deps.certificates.ca.certificate(match[1]);
    if (cert.state !== 'issued' && cert.state !== 'imported') throw new AppError('notFound', `no certificate with serial ${match[1]}`);
    if (match[2]) {
      if (isIndividual(cert)) throw new AppError('notFound', 'an individual\'s certificate is not published here');
      ctx.type = 'application/pem-certificate-chain';
      ctx.set('Content-Disposition', `attachment; filename="${cert.serial}.pem"`);
      ctx.body = deps.certificates.pem(cert);
      return;
    }
    const issuer = (await deps.certificates.ca.issuers()).find((i) => i.id === cert.issuerId);
    sendPage(ctx, 200, certificatePage(pickLanguage(ctx), cert, issuer?.subjectDn ? commonName(issuer.subjectDn) : cert.issuerId, deps.now()));
  });

  router.get('/certificates/:serial/chain.p7b', async (ctx) => {
    if (!SERIAL.test(ctx.params.serial)) throw new AppError('notFound', `no certificate ${ctx.params.serial}`);
    const cert = await deps.certificates.ca.certificate(ctx.params.serial);
    if (isIndividual(cert)) throw new AppError('notFound', 'an individual\'s certificate is not published here');
    ctx.type = 'application/pkcs7-mime';
    ctx.set('Content-Disposition', `attachment; filename="${cert.serial}.p7b"`);
    ctx.body = Buffer.from(await deps.certificates.chainPkcs7(cert));
  });

  return router;
}
