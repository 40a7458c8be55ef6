/**
 * The trust store: which roots a chain may end at (anchors) and which CA certificates may fill
 * the middle (intermediates). Three sources, merged:
 * - our own CA hierarchy (roots are anchors, issuing CAs intermediates), from the registry;
 * - anchor files named by VALIDATION_TRUST_ANCHORS (the government and national roots);
 * - entries the operator added with `tinnhiem trust add` (stored, audited).
 * The snapshot is rebuilt when something changes (`invalidate`: trust add/remove, our issuers
 * through the CA and the change feed), and in the background every `refreshMs` for entries
 * another node added: a request never waits for that periodic rebuild, it uses the snapshot it has.
 */
import { readFileSync } from 'node:fs';
import { decodePem } from '../../ca/asn1/der.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';
import { loadCert, type Cert } from './cert.js';
import { CertPool, type CertSource } from './chain.js';
import type { RegistryPort, TrustEntry, TrustEntryPort, TrustKind } from './ports.js';

export interface TrustListing {
  sha256: string;
  kind: TrustKind;
  source: CertSource;
  subject: string;
  notAfter: string;
  label: string | null;
  /** Trusted as the anchor of time-stamping authorities. */
  timestamping: boolean;
  addedBy: string | null;
  addedAt: string | null;
}

/** Reads every CERTIFICATE of a PEM bundle or one DER certificate. */
export function readCertificates(bytes: Uint8Array, what: string): Cert[] {
  const text = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  if (text.includes('-----BEGIN')) {
    const blocks = decodePem(Buffer.from(bytes).toString('utf8'), 'badCertificate').filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
    if (!blocks.length) throw new AppError('badCertificate', `${what}: no CERTIFICATE block`);
    return blocks.map((b, i) => loadCert(b.der, `${what} #${i + 1}`));
  }
  return [loadCert(bytes, what)];
}

interface Snapshot {
  at: number;
  generation: number;
  pool: CertPool;
  tsaPool: CertPool;
  listing: TrustListing[];
}

export class TrustStore {
  private snapshot: Snapshot | null = null;
  /** Bumped by every change: a rebuild that began before it is not good enough. */
  private generation = 0;
  private rebuilding: Promise<Snapshot> | null = null;
  private readonly configured: Cert[] = [];

  constructor(
    private readonly entries: TrustEntryPort,
    private readonly registry: RegistryPort,
    anchorFiles: readonly string[],
    private readonly log: Logger,
    private readonly refreshMs = 5_000,
  ) {
    for (const file of anchorFiles) {
      // A configured anchor that cannot be read is a boot error: the operator named it.
      this.configured.push(...readCertificates(readFileSync(file), file));
    }
  }

  /** The current anchors and intermediates. */
  async pool(): Promise<CertPool> {
    return (await this.current()).pool;
  }

  /**
   * The anchors of time-stamping authorities: only entries marked for time-stamping (a root
   * trusted for signatures does not vouch for a TSA's clock); intermediates as in `pool()`.
   */
  async tsaPool(): Promise<CertPool> {
    return (await this.current()).tsaPool;
  }

  async list(): Promise<TrustListing[]> {
    return (await this.current()).listing;
  }

  /** Something the snapshot is made of changed: the next request waits for a fresh one. */
  invalidate(): void {
    this.generation++;
    this.snapshot = null;
  }

  private async current(): Promise<Snapshot> {
    const snapshot = this.snapshot;
    if (snapshot && snapshot.generation === this.generation) {
      if (performance.now() - snapshot.at >= this.refreshMs) {
        this.rebuild().catch((err: unknown) => this.log.warn({ err }, 'trust store refresh failed; the previous snapshot stays'));
      }
      return snapshot;
    }
    return this.rebuild();
  }

  /** One rebuild at a time; if a change came in while it ran, another follows. */
  private async rebuild(): Promise<Snapshot> {
    if (!this.rebuilding) {
      this.rebuilding = (async () => {
        try {
          for (;;) {
            const generation = this.generation;
            const built = await this.build(generation);
            if (generation === this.generation) return (this.snapshot = built);
          }
        } finally {
          this.rebuilding = null;
        }
      })();
    }
    return this.rebuilding;
  }

  private async build(generation: number): Promise<Snapshot> {
    const pool = new CertPool();
    const tsaPool = new CertPool();
    const listing: TrustListing[] = [];
    const push = (cert: Cert, kind: TrustKind, source: CertSource, extra: Partial<TrustListing> = {}) => {
      pool.add({ cert, source, anchor: kind === 'anchor' });
      if (kind === 'intermediate') tsaPool.add({ cert, source, anchor: false });
      else if (extra.timestamping) tsaPool.add({ cert, source, anchor: true });
      listing.push({ sha256: cert.sha256, kind, source, subject: cert.subjectDn, notAfter: cert.facts.notAfter.toISOString(), label: null, timestamping: false, addedBy: null, addedAt: null, ...extra });
    };
    for (const issuer of await this.registry.issuers()) {
      if (!issuer.certificate || (issuer.role !== 'root' && issuer.role !== 'issuing') || issuer.status === 'pending') continue;
      try {
        push(loadCert(issuer.certificate, `CA certificate ${issuer.id}`), issuer.role === 'root' ? 'anchor' : 'intermediate', 'our-ca', { label: issuer.id });
      } catch (err) {
        this.log.warn({ err, issuer: issuer.id }, 'unreadable CA certificate left out of the trust store');
      }
    }
    for (const cert of this.configured) push(cert, 'anchor', 'configured');
    for (const entry of await this.entries.list()) {
      try {
        push(loadCert(entry.der, `trust entry ${entry.sha256}`), entry.kind, 'trust-store', { label: entry.label, timestamping: entry.timestamping, addedBy: entry.addedBy, addedAt: entry.addedAt.toISOString() });
      } catch (err) {
        this.log.warn({ err, sha256: entry.sha256 }, 'unreadable trust entry left out');
      }
    }
    return { at: performance.now(), generation, pool, tsaPool, listing };
  }

  /**
   * Adds CA certificates (a PEM bundle or one DER) as anchors or intermediates. Only CA
   * certificates, except that a time-stamping unit's own certificate may be pinned as an anchor
   * trusted for time-stamping. `timestamping`: the anchor vouches for time-stamping authorities.
   */
  async add(actor: string, bytes: Uint8Array, kind: TrustKind, label: string | null, timestamping = false): Promise<Array<{ sha256: string; subject: string; added: boolean }>> {
    const certs = readCertificates(bytes, 'certificate');
    const results: Array<{ sha256: string; subject: string; added: boolean }> = [];
    for (const cert of certs) {
      // A pinned time-stamping unit (id-kp-timeStamping) may be an anchor; otherwise only CAs.
      const pinnedTsa = kind === 'anchor' && timestamping && !!cert.eku?.includes('1.3.6.1.5.5.7.3.8');
      if (timestamping && kind !== 'anchor') throw new AppError('badCertificate', 'only an anchor is trusted for time-stamping');
      if (!cert.facts.ca && cert.version >= 2 && !pinnedTsa) throw new AppError('badCertificate', `"${cert.subjectDn}" is not a CA certificate (basicConstraints cA is not TRUE)${cert.eku?.includes('1.3.6.1.5.5.7.3.8') ? '; a time-stamping unit may be pinned as an anchor trusted for time-stamping' : ''}`);
      const entry: Omit<TrustEntry, 'addedAt' | 'addedBy'> = { sha256: cert.sha256, kind, der: Buffer.from(cert.der), subjectDn: cert.subjectDn, notAfter: cert.facts.notAfter, label, timestamping };
      results.push({ sha256: cert.sha256, subject: cert.subjectDn, added: await this.entries.add(actor, entry) });
    }
    this.invalidate();
    return results;
  }

  async remove(actor: string, sha256: string): Promise<boolean> {
    const removed = await this.entries.remove(actor, sha256.toLowerCase().replace(/:/g, ''));
    this.invalidate();
    return removed;
  }
}
