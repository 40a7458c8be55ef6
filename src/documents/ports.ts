/** What the document registry needs from storage (the consumer owns its port). */
export interface RegisteredDocument {
  /** The verification id the QR code links to (`/verify/{id}`). */
  id: string;
  /** SHA-256 of the registered file, hex. */
  sha256: string;
  title: string;
  /** The agency that issued the document. */
  issuer: string;
  /** The document's own date (YYYY-MM-DD), as the agency gives it. */
  documentDate: string | null;
  registeredBy: string;
  registeredAt: Date;
}

export interface DocumentStore {
  /** Stores the registration and its audit event in one transaction. */
  add(doc: RegisteredDocument): Promise<void>;
  find(id: string): Promise<RegisteredDocument | null>;
}
