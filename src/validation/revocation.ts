/**
 * Revocation status at a validation time. Certificates we issued are answered from our registry
 * (the source of truth our own OCSP responder and CRLs are made from); other CAs' certificates
 * from their OCSP responder (RFC 6960), else their CRL (RFC 5280 §5), fetched over HTTP with a
 * size cap and a timeout, and cached until nextUpdate.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { verifySignature } from '../../ca/asn1/algorithms.js';
import { hexFromInteger, integerFromHex } from '../../ca/asn1/der.js';
import { subjectPublicKeyBits } from '../../ca/asn1/public-key.js';
import { revocationReasons } from '../../ca/status/crl/crl.js';
import type { Clock } from '../lifecycle/clock.js';
import { registerCache } from '../../ca/cache-registry.js';
import { BoundedLru } from '../cache/bounded-lru.js';
import { OutboundFetcher, type OutboundPolicy } from '../outbound/outbound-fetcher.js';
import { fromPkijs, sha256Hex, type Cert } from './cert.js';
import { signedBy } from './chain.js';
import type { OurIssuer, RegistryPort } from './ports.js';
import type { RevocationEvidence } from './report.js';
import type { RegistryIndex } from './registry-index.js';
import { readCrl, type DerCrl } from './crl-der.js';

/** What the validator's fetches may do (timeout, size, private networks): the outbound fetcher's policy. */
export type FetchPolicy = OutboundPolicy;

/** How long a cached registry record or issuer list is used without a change telling it to go. */
const REGISTRY_TTL_MS = 60_000;

const reasonNames = Object.fromEntries(Object.entries(revocationReasons).map(([name, code]) => [code, name])) as Record<number, string>;

/** HTTP GET/POST of a small DER object from a URL a certificate names, through the guarded outbound fetcher. */
export async function fetchDer(url: string, policy: FetchPolicy | OutboundFetcher, body?: Uint8Array): Promise<Uint8Array> {
  const fetcher = policy instanceof OutboundFetcher ? policy : new OutboundFetcher(policy);
  return fetcher.fetch(url, body ? { body, contentType: 'application/ocsp-request', accept: 'application/ocsp-response' } : {});
}

/**
 * Another CA's CRL as the checks read it: its entries by serial (hex), not the parsed CRL. pkijs's
 * objects for a CRL of 100,000 entries take tens of MB, and finding a serial among them meant
 * converting every entry's serial at every validation.
 */
interface CachedCrl {
  revoked: DerCrl['revoked'];
  unusable: DerCrl['unusable'];
  scope: DerCrl['scope'];
  issuerSha: string;
  nextUpdate: Date | null;
  thisUpdate: Date;
}
interface CachedOcsp {
  evidence: Omit<RevocationEvidence, 'subject'>;
  revokedAt: Date | null;
  expires: number;
}

/**
 * Evidence from our registry, written out in the order the report has always had (the fields of
 * the base record, then source and status) rather than spread from a base object per check
 * (`--cpu-prof` of the cold pass: 1.7 % of a validation in `fromRegistry` itself).
 */
function registryEvidence(cert: Cert, status: RevocationEvidence['status'], revokedAt: string | null, reason: string | null, producedAt: string, note: string | null): RevocationEvidence {
  return { serial: cert.facts.serial, subject: cert.subjectDn, revokedAt, reason, producedAt, url: null, note, source: 'registry', status };
}

export class RevocationChecker {
  /** Other CAs' CRLs and OCSP answers, `cacheEntries` each, registered (ca/cache-registry.ts): each is fetched again from its URL. */
  private readonly crls = registerCache('fetched CRLs', new Map<string, CachedCrl>());
  private readonly ocsp = registerCache('fetched OCSP answers', new Map<string, CachedOcsp>());
  private issuersCache: { at: number; rows: OurIssuer[]; bySha: Map<string, OurIssuer> } | null = null;
  /**
   * Our registry's records by issuer and serial, so a validation costs no database round trip:
   * dropped by `forget` when a status changes (this node's CA, the change feed for the others),
   * and kept at most REGISTRY_TTL_MS anyway (a feed that lags cannot keep a stale status longer).
   */
  private readonly records = new BoundedLru<string, { record: Awaited<ReturnType<RegistryPort['certificate']>>; at: number }>(10_000, 'registry records');

  constructor(
    private readonly registry: RegistryPort,
    policy: FetchPolicy | OutboundFetcher,
    private readonly clock: Clock,
    private readonly cacheEntries = 10_000,
    /** Our registry held on this node (registry-index.ts); without it, one registry read per new signer. */
    private readonly index: RegistryIndex | null = null,
  ) {
    this.fetcher = policy instanceof OutboundFetcher ? policy : new OutboundFetcher(policy);
  }

  private readonly fetcher: OutboundFetcher;

  /** A certificate's status changed (revoke, hold, release): its cached record goes. */
  forget(issuerId: string, serial: string): void {
    this.records.delete(`${issuerId}|${serial}`);
    this.index?.forget(issuerId, serial);
  }

  /** An issuer was added or changed: read them again at the next check. */
  issuersChanged(): void {
    this.issuersCache = null;
  }

  private async registryRecord(issuerId: string, serial: string) {
    const key = `${issuerId}|${serial}`;
    const now = performance.now();
    const hit = this.records.get(key);
    if (hit && now - hit.at < REGISTRY_TTL_MS) {
      this.records.touch(key, hit);
      return hit.record;
    }
    const held = this.index?.lookup(issuerId, serial);
    if (held) return held;
    const record = await this.registry.certificate(issuerId, serial);
    this.records.set(key, { record, at: now });
    return record;
  }

  /** Our issuers by the SHA-256 of their certificate; re-read when they change (and every minute). */
  async ourIssuers(): Promise<Map<string, OurIssuer>> {
    // A refresh period, not a point in time: measured on the monotonic clock.
    const now = performance.now();
    if (!this.issuersCache || now - this.issuersCache.at > REGISTRY_TTL_MS) {
      const rows = await this.registry.issuers();
      this.issuersCache = { at: now, rows, bySha: new Map(rows.filter((r) => r.certificate && r.role !== 'external').map((r) => [sha256Hex(r.certificate!), r])) };
      this.index?.issuers([...new Set(rows.filter((r) => r.role !== 'external').map((r) => r.id))].sort());
    }
    this.index?.refreshIfDue(now);
    return this.issuersCache.bySha;
  }

  /** The status of `cert` (issued by `issuer`) at `time`. */
  async check(cert: Cert, issuer: Cert, time: Date): Promise<RevocationEvidence> {
    const ours = await this.ourIssuers();
    const ourIssuer = ours.get(issuer.sha256);
    if (ourIssuer) return this.fromRegistry(cert, ourIssuer, ours);
    const base = { serial: cert.facts.serial, subject: cert.subjectDn, revokedAt: null, reason: null, producedAt: null, url: null, note: null };
    const errors: string[] = [];
    for (const url of cert.facts.ocspUrls.slice(0, 2)) {
      try {
        return { ...(await this.fromOcsp(cert, issuer, url)), subject: cert.subjectDn };
      } catch (err) {
        errors.push(`OCSP ${url}: ${(err as Error).message}`);
      }
    }
    for (const url of cert.facts.crlUrls.slice(0, 2)) {
      try {
        return { ...(await this.fromCrl(cert, issuer, url, time)), subject: cert.subjectDn };
      } catch (err) {
        errors.push(`CRL ${url}: ${(err as Error).message}`);
      }
    }
    if (!cert.facts.ocspUrls.length && !cert.facts.crlUrls.length) {
      return { ...base, source: 'none', status: 'unavailable', note: 'the certificate names neither an OCSP responder nor a CRL' };
    }
    return { ...base, source: 'none', status: 'unavailable', note: errors.join('; ').slice(0, 1000) };
  }

  private async fromRegistry(cert: Cert, issuer: OurIssuer, ours: Map<string, OurIssuer>): Promise<RevocationEvidence> {
    const producedAt = this.clock.now().toISOString();
    const caRow = ours.get(cert.sha256);
    if (caRow) {
      const status = caRow.status === 'active' || caRow.status === 'retired' ? 'good' : 'unknown';
      return registryEvidence(cert, status, null, null, producedAt, `our CA certificate (${caRow.role}, ${caRow.status})`);
    }
    const record = await this.registryRecord(issuer.id, cert.facts.serial);
    if (!record || (record.derSha256 && record.derSha256 !== cert.sha256)) {
      // A certificate that verifies under our CA's key but that our registry never recorded.
      return registryEvidence(cert, 'unknown', null, null, producedAt, `our registry has no certificate ${cert.facts.serial} of issuer ${issuer.id}`);
    }
    if (record.status === 'good') return registryEvidence(cert, 'good', null, null, producedAt, null);
    if (record.status === 'hold') return registryEvidence(cert, 'hold', record.statusChangedAt.toISOString(), 'certificateHold', producedAt, null);
    // RFC 5280 §5.3.2: a key known compromised since invalidityDate is distrusted from then on.
    const effective = record.invalidityDate && record.revokedAt && record.invalidityDate < record.revokedAt ? record.invalidityDate : record.revokedAt;
    const note = effective !== record.revokedAt ? `revoked at ${record.revokedAt?.toISOString()}, invalid since ${effective?.toISOString()} (invalidityDate)` : null;
    return registryEvidence(cert, 'revoked', effective?.toISOString() ?? null, record.revocationReason, producedAt, note);
  }

  private trim<K, V>(map: Map<K, V>): void {
    while (map.size > this.cacheEntries) map.delete(map.keys().next().value as K);
  }

  private async fromOcsp(cert: Cert, issuer: Cert, url: string): Promise<Omit<RevocationEvidence, 'subject'>> {
    const key = `${url}|${issuer.sha256}|${cert.facts.serial}`;
    const cached = this.ocsp.get(key);
    if (cached && cached.expires > this.clock.now().getTime()) return cached.evidence;
    // RFC 6960 §4.1.1: CertID with SHA-1 (what every responder supports).
    const certId = new pkijs.CertID({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '1.3.14.3.2.26', algorithmParams: new asn1js.Null() }),
      issuerNameHash: new asn1js.OctetString({ valueHex: createHash('sha1').update(issuer.facts.subject).digest() }),
      issuerKeyHash: new asn1js.OctetString({ valueHex: createHash('sha1').update(subjectPublicKeyBits(issuer.facts.spki)).digest() }),
      serialNumber: integerFromHex(cert.facts.serial),
    });
    const request = new pkijs.OCSPRequest({ tbsRequest: new pkijs.TBSRequest({ requestList: [new pkijs.Request({ reqCert: certId })] }) });
    const der = await fetchDer(url, this.fetcher, new Uint8Array(request.toSchema(true).toBER(false)));
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1) throw new Error('malformed OCSP response');
    const response = new pkijs.OCSPResponse({ schema: asn.result });
    const status = response.responseStatus.valueBlock.valueDec;
    if (status !== 0) throw new Error(`responder status ${status}${status === 3 ? ' (tryLater)' : ''}`);
    if (!response.responseBytes || response.responseBytes.responseType !== '1.3.6.1.5.5.7.48.1.1') throw new Error('not a basic OCSP response');
    const basicAsn = asn1js.fromBER(response.responseBytes.response.valueBlock.valueHexView);
    const basic = new pkijs.BasicOCSPResponse({ schema: basicAsn.result });
    // RFC 6960 §4.2.2.2: signed by the issuer itself or by a responder it certified for OCSP signing.
    const responderCerts = (basic.certs ?? []).map((c) => fromPkijs(new Uint8Array(c.toSchema().toBER(false)), c));
    const signer = [issuer, ...responderCerts.filter((c) => c.issuerHex === issuer.subjectHex && signedBy(c, issuer) && c.eku?.includes('1.3.6.1.5.5.7.3.9'))].find((c) => {
      try {
        return verifySignature(basic.tbsResponseData.tbsView, basic.signature.valueBlock.valueHexView, basic.signatureAlgorithm, c.facts.spki);
      } catch {
        return false;
      }
    });
    if (!signer) throw new Error('the response is not signed by the issuer or a responder it authorised');
    const single = basic.tbsResponseData.responses.find((r) => hexFromInteger(r.certID.serialNumber.valueBlock.valueHexView) === cert.facts.serial);
    if (!single) throw new Error('the response does not cover this certificate');
    const now = this.clock.now();
    if (single.nextUpdate && single.nextUpdate < now) throw new Error(`stale response (nextUpdate ${single.nextUpdate.toISOString()})`);
    const tag = (single.certStatus as asn1js.BaseBlock).idBlock.tagNumber;
    let revokedAt: Date | null = null;
    let reason: string | null = null;
    if (tag === 1) {
      const inner = (single.certStatus as asn1js.Constructed).valueBlock.value;
      const time = inner[0];
      revokedAt = time instanceof asn1js.GeneralizedTime ? time.toDate() : null;
      const reasonNode = inner[1] as asn1js.Constructed | undefined;
      const code = reasonNode?.valueBlock?.value?.[0];
      if (code instanceof asn1js.Enumerated) reason = reasonNames[code.valueBlock.valueDec] ?? null;
    }
    const evidence: Omit<RevocationEvidence, 'subject'> = {
      serial: cert.facts.serial,
      source: 'ocsp',
      status: tag === 0 ? 'good' : tag === 1 ? 'revoked' : 'unknown',
      revokedAt: revokedAt?.toISOString() ?? null,
      reason,
      producedAt: basic.tbsResponseData.producedAt.toISOString(),
      url,
      note: signer === issuer ? null : `signed by the delegated responder "${signer.subjectDn}"`,
    };
    this.ocsp.set(key, { evidence, revokedAt, expires: Math.min(single.nextUpdate?.getTime() ?? now.getTime() + 3_600_000, now.getTime() + 24 * 3_600_000) });
    this.trim(this.ocsp);
    return evidence;
  }

  private async fromCrl(cert: Cert, issuer: Cert, url: string, time: Date): Promise<Omit<RevocationEvidence, 'subject'>> {
    const now = this.clock.now();
    let cached = this.crls.get(url);
    if (!cached || cached.issuerSha !== issuer.sha256 || (cached.nextUpdate && cached.nextUpdate < now)) {
      // Only the entries' facts are kept (crl-der.ts), never views of the fetched bytes.
      const crl = readCrl(await fetchDer(url, this.fetcher));
      if (Buffer.compare(crl.issuer, issuer.facts.subject) !== 0) throw new Error('the CRL is issued by another CA');
      const algorithm = new pkijs.AlgorithmIdentifier({ schema: asn1js.fromBER(crl.signatureAlgorithm).result });
      if (!verifySignature(crl.tbs, crl.signature, algorithm, issuer.facts.spki)) throw new Error('the CRL signature does not verify with the issuer\'s key');
      cached = { revoked: crl.revoked, unusable: crl.unusable, scope: crl.scope, issuerSha: issuer.sha256, nextUpdate: crl.nextUpdate, thisUpdate: crl.thisUpdate };
      if (cached.nextUpdate && cached.nextUpdate < now) throw new Error(`stale CRL (nextUpdate ${cached.nextUpdate.toISOString()})`);
      this.crls.set(url, cached);
      this.trim(this.crls);
    }
    // RFC 5280 §6.3.3: a CRL that is not the complete one for this certificate says nothing of it.
    if (cached.unusable) throw new Error(`the CRL cannot be used: ${cached.unusable}`);
    const { scope } = cached;
    if (scope.uris && !scope.uris.includes(url)) throw new Error('the CRL\'s issuing distribution point does not name the URL it was fetched from (RFC 5280 §5.2.5)');
    if (scope.onlyUserCerts && cert.facts.ca) throw new Error('the CRL covers only end-entity certificates');
    if (scope.onlyCaCerts && !cert.facts.ca) throw new Error('the CRL covers only CA certificates');
    const entry = cached.revoked.get(cert.facts.serial);
    const base = { serial: cert.facts.serial, source: 'crl' as const, producedAt: cached.thisUpdate.toISOString(), url, note: null };
    if (!entry) {
      return { ...base, status: 'good', revokedAt: null, reason: null, note: time > cached.thisUpdate ? null : 'the CRL is newer than the validation time; a certificate revoked and removed since would not show' };
    }
    const reason = entry.reason === null ? null : (reasonNames[entry.reason] ?? null);
    return { ...base, status: reason === 'certificateHold' ? 'hold' : 'revoked', revokedAt: entry.revokedAt.toISOString(), reason };
  }
}
