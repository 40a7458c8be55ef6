/**
 * DPoP proofs (RFC 9449) for the API: a token bound to a key (`cnf.jkt`, §6.1) is accepted only
 * with `Authorization: DPoP` and a fresh proof of possession of that key (§4.3, §7.1).
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWK } from 'jose';
import type { Clock } from '../lifecycle/clock.js';

/** The algorithms the provider accepts for DPoP (oidc-provider's dPoPSigningAlgValues, in discovery). */
export const DPOP_ALGORITHMS = ['ES256', 'Ed25519', 'EdDSA'];
/** How old a proof may be (its `iat`), and how far ahead of our clock (RFC 9449 §11.1). */
export const DPOP_MAX_AGE_SECONDS = 60;
export const DPOP_FUTURE_SKEW_SECONDS = 5;

export class DpopProofError extends Error {
  constructor(readonly description: string) {
    super(description);
  }
}

/** The replay cache shared by every node (a table with a unique key: src/storage/token-revocation-repository.ts). */
export interface ProofReplayCache {
  /** False when this proof id was recorded before. */
  useProof(id: string, expiresAt: Date): Promise<boolean>;
}

export interface DpopRequest {
  method: string;
  /** The request path (no query): the proof's `htu` must be the configured public URL with it. */
  path: string;
  /** The DPoP header(s) as received (RFC 9449 §4.3: exactly one). */
  proofs: string[];
}

const b64url = (data: Buffer) => data.toString('base64url');

export class DpopProofs {
  private readonly base: URL;

  constructor(
    /** PUBLIC_URL: `htu` is compared with it, never with the Host header (which a client chooses). */
    publicUrl: string,
    private readonly clock: Clock,
    private readonly replay: ProofReplayCache,
  ) {
    this.base = new URL(publicUrl);
  }

  /** The URL a proof for this path must name (RFC 9449 §4.2: without query and fragment). */
  expectedHtu(path: string): string {
    return `${this.base.origin}${this.base.pathname.replace(/\/$/, '')}${path}`;
  }

  /** Checks a proof for `accessToken`, bound to the key whose thumbprint is `jkt` (RFC 9449 §4.3, §7.1). */
  async verify(request: DpopRequest, accessToken: string, jkt: string): Promise<void> {
    if (request.proofs.length !== 1) throw new DpopProofError(request.proofs.length ? 'more than one DPoP proof' : 'a DPoP proof is required (DPoP header)');
    const proof = request.proofs[0];
    const { jwk, claims } = await this.signedBy(proof);
    if ((await calculateJwkThumbprint(jwk, 'sha256')) !== jkt) throw new DpopProofError('the DPoP proof is not signed with the key the token is bound to');
    if (claims.htm !== request.method) throw new DpopProofError('htm does not match the request method');
    if (typeof claims.htu !== 'string' || !URL.canParse(claims.htu)) throw new DpopProofError('htu is missing or not a URL');
    const htu = new URL(claims.htu);
    if (`${htu.origin}${htu.pathname}` !== this.expectedHtu(request.path)) throw new DpopProofError('htu does not match the request URL');
    const nowS = Math.floor(this.clock.now().getTime() / 1000);
    if (typeof claims.iat !== 'number') throw new DpopProofError('iat is missing');
    if (claims.iat > nowS + DPOP_FUTURE_SKEW_SECONDS || claims.iat < nowS - DPOP_MAX_AGE_SECONDS) throw new DpopProofError('the DPoP proof is too old or from the future (iat)');
    if (claims.ath !== b64url(createHash('sha256').update(accessToken, 'ascii').digest())) throw new DpopProofError('ath does not match the access token');
    if (typeof claims.jti !== 'string' || !claims.jti || claims.jti.length > 256) throw new DpopProofError('jti is missing');
    // Last, so only proofs that are otherwise valid take a place in the shared cache.
    const id = createHash('sha256').update(`${jkt} ${claims.jti}`).digest('hex');
    const expiresAt = new Date((claims.iat + DPOP_MAX_AGE_SECONDS + DPOP_FUTURE_SKEW_SECONDS + 1) * 1000);
    if (!(await this.replay.useProof(id, expiresAt))) throw new DpopProofError('the DPoP proof was used before (jti)');
  }

  /** The proof's own key (header `jwk`, public only) and its verified claims. */
  private async signedBy(proof: string): Promise<{ jwk: JWK; claims: Record<string, unknown> }> {
    let header;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      throw new DpopProofError('the DPoP proof is not a JWT');
    }
    const jwk = header.jwk as JWK | undefined;
    if (header.typ !== 'dpop+jwt') throw new DpopProofError('the DPoP proof is not of type dpop+jwt');
    if (!header.alg || !DPOP_ALGORITHMS.includes(header.alg)) throw new DpopProofError(`the DPoP proof algorithm must be one of ${DPOP_ALGORITHMS.join(', ')}`);
    if (!jwk || typeof jwk !== 'object' || 'd' in jwk) throw new DpopProofError('the DPoP proof carries no public key (jwk)');
    try {
      const key = await importJWK(jwk, header.alg);
      const { payload } = await jwtVerify(proof, key, { typ: 'dpop+jwt', algorithms: DPOP_ALGORITHMS, currentDate: this.clock.now(), clockTolerance: DPOP_FUTURE_SKEW_SECONDS });
      return { jwk, claims: payload as Record<string, unknown> };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) throw new DpopProofError('the DPoP proof signature does not verify');
      throw err;
    }
  }
}
