import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/**
 * A software WebAuthn authenticator for tests: a real ECDSA P-256 key, real authenticator data,
 * client data and `none` attestation, built byte by byte as WebAuthn §6.1 and §6.5 define them.
 * Nothing in the server is mocked: its verifier checks these like a browser's. The signature
 * counter can be set by the test (to present a counter that goes backwards).
 */
/** What a benchmark's driver process needs to answer with a passkey another process registered. */
export interface SoftAuthenticatorState {
  origin: string;
  rpId: string;
  credentialId: string;
  privateKeyPem: string;
  publicJwk: { x: string; y: string };
  counter: number;
  userHandle: string | null;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(32);
  private readonly privateKey: KeyObject;
  private readonly publicJwk: { x: string; y: string };
  counter = 0;
  userHandle: Buffer | null = null;

  constructor(
    readonly origin: string,
    readonly rpId: string,
    /** Backup eligible and backed up (a synced passkey) or device-bound. */
    readonly synced = false,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    this.publicJwk = { x: jwk.x, y: jwk.y };
  }

  get id(): string {
    return this.credentialId.toString('base64url');
  }

  /** The key and counter, to hand to another process (bench/support/login-driver.ts). */
  state(): SoftAuthenticatorState {
    return {
      origin: this.origin,
      rpId: this.rpId,
      credentialId: this.id,
      privateKeyPem: this.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      publicJwk: this.publicJwk,
      counter: this.counter,
      userHandle: this.userHandle?.toString('base64url') ?? null,
    };
  }

  static restore(s: SoftAuthenticatorState): SoftAuthenticator {
    const a = new SoftAuthenticator(s.origin, s.rpId);
    Object.assign(a, {
      credentialId: Buffer.from(s.credentialId, 'base64url'),
      privateKey: createPrivateKey(s.privateKeyPem),
      publicJwk: s.publicJwk,
      counter: s.counter,
      userHandle: s.userHandle ? Buffer.from(s.userHandle, 'base64url') : null,
    });
    return a;
  }

  /** The credential's public key as COSE_Key (WebAuthn §6.5.1.1), as registration stores it. */
  cosePublicKey(): Buffer {
    const cose = new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(this.publicJwk.x, 'base64url')],
      [-3, Buffer.from(this.publicJwk.y, 'base64url')],
    ]);
    return Buffer.from(isoCBOR.encode(cose));
  }

  /** SHA-256 of the RP ID (WebAuthn §6.1), the same in every assertion: hashed once. */
  private rpIdHashed?: Buffer;

  private authData(attested: boolean): Buffer {
    const rpIdHash = (this.rpIdHashed ??= createHash('sha256').update(this.rpId).digest());
    // UP (0x01), UV (0x04), BE (0x08) and BS (0x10) for a synced passkey, AT (0x40) with attested data.
    const flags = 0x01 | 0x04 | (this.synced ? 0x18 : 0) | (attested ? 0x40 : 0);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const parts = [rpIdHash, Buffer.from([flags]), counter];
    if (attested) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), length, this.credentialId, this.cosePublicKey());
    }
    return Buffer.concat(parts);
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin = this.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create() for the server's options (JSON form), as RegistrationResponseJSON. */
  create(options: { challenge: string; user: { id: string } }) {
    this.userHandle = Buffer.from(options.user.id, 'base64url');
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', this.authData(true)],
    ]) as never);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: this.clientData('webauthn.create', options.challenge).toString('base64url'),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: ['internal'],
      },
    };
  }

  /** navigator.credentials.get(): an assertion over `challenge`, with the next counter (or the one given). */
  get(options: { challenge: string }, overrides: { counter?: number; origin?: string } = {}) {
    this.counter = overrides.counter ?? this.counter + 1;
    const authenticatorData = this.authData(false);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, overrides.origin);
    const signature = sign('sha256', Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]), this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authenticatorData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: this.userHandle?.toString('base64url'),
      },
    };
  }
}

/** A passkey registered to `account` through the service's real registration verification. */
export async function registerSoftPasskey(
  passkeys: { settings: { origins: string[]; rpId: string }; registrationOptions(a: never, b: string): Promise<{ challenge: string; user: { id: string } }>; register(actor: string, a: never, b: string, body: unknown, name: string): Promise<unknown> },
  account: { id: string },
  name = 'Khoá thử nghiệm',
): Promise<SoftAuthenticator> {
  const authenticator = new SoftAuthenticator(passkeys.settings.origins[0], passkeys.settings.rpId);
  const options = await passkeys.registrationOptions(account as never, 'test');
  await passkeys.register('test', account as never, 'test', authenticator.create(options), name);
  return authenticator;
}
