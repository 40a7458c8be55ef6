/**
 * Randomness, injected where the CA draws it (serials, key-file salts) so tests are
 * deterministic. A leaf module: the issuance code and the key stores import it, and the ports
 * (ca/ports.ts) re-export the type, so no dependency points back up.
 */
export type RandomBytes = (length: number) => Uint8Array;

/** The CSPRNG (BR §7.1 asks serials to come from one). */
export const secureRandomBytes: RandomBytes = (length) => crypto.getRandomValues(new Uint8Array(length));
