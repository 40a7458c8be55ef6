/** A passkey (WebAuthn public-key credential) of an account: the registry's domain type. */
export interface Passkey {
  id: string;
  accountId: string;
  /** base64url, as the authenticator returned it. */
  credentialId: string;
  /** COSE_Key bytes. */
  publicKey: Buffer;
  counter: number;
  transports: string[];
  aaguid: string;
  /** `multiDevice`: backup eligible (a synced passkey); `singleDevice`: bound to one authenticator. */
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export type NewPasskey = Omit<Passkey, 'id' | 'createdAt' | 'lastUsedAt'>;

export interface StoredChallenge {
  challenge: string;
  purpose: 'registration' | 'authentication';
  accountId: string | null;
  binding: string;
  expiresAt: Date;
}

/** A certificate an administrator registered to an account for certificate login. */
export interface AccountCertificate {
  accountId: string;
  fingerprint: string;
  subjectDn: string;
  issuerDn: string;
  serial: string;
  createdAt: Date;
}
