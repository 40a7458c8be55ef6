/**
 * Who signs OCSP responses for which issuing CA (docs/ocsp.md, "Signer"): with
 * `OCSP_SIGNER=delegated` the newest valid OCSP signer certificate under the CA (RFC 6960
 * §4.2.2.2), else, or with `OCSP_SIGNER=ca`, the CA key itself.
 */
import { webcrypto } from 'node:crypto';
import { type IndexedIssuer, issuerFromCertificate, IssuerIndex, type OcspResponder, prepareResponder, webCryptoSigner } from '../../ca/status/ocsp/index.js';
import { certificateFacts, parseCertificate } from '../../ca/asn1/certificate.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Logger } from '../logging/logger.js';
import type { IssuerRecord } from '../../ca/records.js';
import { HOUR, type OcspCaPort, type OcspConfig } from './ocsp-model.js';

export interface ServedIssuer {
  indexed: IndexedIssuer;
  responder: OcspResponder;
  /** Delegated responses carry the signer's certificate (RFC 6960 §4.2.2.2); the CA's need none. */
  includeCerts: boolean;
  /** nextUpdate never goes past the signer certificate's notAfter. */
  signerNotAfter: number;
  signerId: string;
}

const notAfterOf = (certificate: Uint8Array): number => certificateFacts(parseCertificate(certificate).certificate).notAfter.getTime();

export class OcspSigners {
  /** The issuers answered for, to match CertIDs against; replaced whole by `reload`. */
  index = new IssuerIndex([]);
  private served = new Map<string, ServedIssuer>();

  constructor(private readonly deps: { ca: OcspCaPort; clock: Clock; log: Logger; signer: OcspConfig['signer'] }) {}

  get(issuerId: string): ServedIssuer | undefined {
    return this.served.get(issuerId);
  }

  has(issuerId: string): boolean {
    return this.served.has(issuerId);
  }

  issuerIds(): string[] {
    return [...this.served.keys()];
  }

  /**
   * The issuing CAs we answer for (active, and retired ones whose certificates may still be
   * valid) and who signs for each: the newest valid delegated signer, or the CA key itself.
   */
  async reload(): Promise<void> {
    const rows = await this.deps.ca.issuers();
    const now = this.deps.clock.now().getTime();
    const prepared = new Map<string, Omit<ServedIssuer, 'indexed'>>();
    for (const row of rows) {
      if (row.role !== 'issuing' || row.status === 'pending' || !row.certificate || !row.keyUri) continue;
      const signerRow = this.deps.signer === 'delegated' ? this.delegatedSigner(row, rows, now) : row;
      const key = await this.deps.ca.key(signerRow.keyUri!);
      const subtle = key.crypto.subtle === (webcrypto.subtle as SubtleCrypto) ? undefined : key.crypto.subtle;
      const signer = webCryptoSigner(key.privateKey, { subtle });
      prepared.set(row.id, {
        responder: prepareResponder({ certificate: signerRow.certificate!, signer }),
        includeCerts: signerRow !== row,
        signerNotAfter: notAfterOf(signerRow.certificate!),
        signerId: signerRow.id,
      });
    }
    const index = new IssuerIndex(rows.filter((r) => prepared.has(r.id)).map((r) => issuerFromCertificate(r.id, r.certificate!)));
    const served = new Map<string, ServedIssuer>();
    for (const [id, p] of prepared) served.set(id, { indexed: index.get(id)!, ...p });
    this.index = index;
    this.served = served;
  }

  /** The newest OCSP signer of `issuer` valid now and for the next hour; the CA itself if none. */
  private delegatedSigner(issuer: IssuerRecord, rows: readonly IssuerRecord[], now: number): IssuerRecord {
    const signers = rows
      .filter((s) => s.role === 'ocsp-signer' && s.parentId === issuer.id && s.status === 'active' && s.certificate && s.keyUri)
      .filter((s) => {
        const facts = certificateFacts(parseCertificate(s.certificate!).certificate);
        return facts.notBefore.getTime() <= now && facts.notAfter.getTime() > now + HOUR;
      });
    const newest = signers[signers.length - 1];
    if (newest) return newest;
    this.deps.log.warn({ issuer: issuer.id }, 'no valid delegated OCSP signer: signing with the CA key (`tinnhiem ca` renews the signer)');
    return issuer;
  }

  /** Issuer ids answered for, and who signs for them (for `tinnhiem` commands and logs). */
  describe(): Array<{ issuer: string; signer: string; signerNotAfter: string }> {
    return [...this.served.entries()].map(([issuer, s]) => ({ issuer, signer: s.signerId, signerNotAfter: new Date(s.signerNotAfter).toISOString() }));
  }
}
