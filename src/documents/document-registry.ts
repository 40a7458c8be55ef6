/**
 * QR verification of issued documents (docs/verify.md). An agency registers a document it issues:
 * the service keeps its SHA-256, title, issuer and date (never the file) under a random
 * verification id, and the QR code printed on the paper copy links to `/verify/{id}`, where the
 * holder compares a file with what was registered. A QR code cannot carry the hash of the file
 * that contains it, so the id is the link and the hash stays here.
 */
import { createHash, randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import type { DocumentStore, RegisteredDocument } from './ports.js';

export type { RegisteredDocument };

export interface RegistrationInput {
  /** The file, or only its SHA-256 (hex) when the agency does not send the document. */
  document?: Uint8Array;
  sha256?: string;
  title: string;
  issuer: string;
  documentDate?: string | null;
}

export type Comparison = 'unchanged' | 'mismatch';

/** 128 random bits, base32 without padding (26 characters): short enough for a QR code, unguessable. */
const ID = /^[a-z2-7]{26}$/;
function newId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(17);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export class DocumentRegistry {
  constructor(
    private readonly store: DocumentStore,
    private readonly clock: Clock,
    private readonly publicUrl: string,
  ) {}

  /** The page a QR code links to. */
  verificationUrl(id: string): string {
    return new URL(`/verify/${id}`, this.publicUrl).toString();
  }

  async register(actor: string, input: RegistrationInput): Promise<{ document: RegisteredDocument; url: string; qrSvg: string }> {
    const sha256 = input.document ? createHash('sha256').update(input.document).digest('hex') : input.sha256?.toLowerCase();
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new AppError('validationFailed', 'give the document or its SHA-256 (64 hexadecimal digits)');
    if (input.document && input.sha256 && input.sha256.toLowerCase() !== sha256) throw new AppError('validationFailed', 'sha256 does not match the document');
    const document: RegisteredDocument = { id: newId(), sha256, title: input.title, issuer: input.issuer, documentDate: input.documentDate ?? null, registeredBy: actor, registeredAt: this.clock.now() };
    await this.store.add(document);
    const url = this.verificationUrl(document.id);
    return { document, url, qrSvg: await this.qrSvg(document.id) };
  }

  /** The registration, or null for an id never issued (or malformed). */
  async find(id: string): Promise<RegisteredDocument | null> {
    return ID.test(id) ? this.store.find(id) : null;
  }

  compare(doc: RegisteredDocument, file: Uint8Array): Comparison {
    return createHash('sha256').update(file).digest('hex') === doc.sha256 ? 'unchanged' : 'mismatch';
  }

  /** The QR code of the verification URL as SVG (no script; error correction M survives a stamp over it). */
  qrSvg(id: string): Promise<string> {
    return QRCode.toString(this.verificationUrl(id), { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  }
}
