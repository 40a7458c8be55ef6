/**
 * `pkcs11:token=<label>;object=<name>` keys (RFC 7512): generated inside a PKCS#11 token (an HSM,
 * or SoftHSM2 in tests and development) as token objects with CKA_SENSITIVE true and
 * CKA_EXTRACTABLE false, and used only through the token: node-webcrypto-p11's WebCrypto provider
 * turns `subtle.sign` into C_Sign. The same SigningKey shape as file keys, so issuance, CRLs and
 * OCSP do not know where a key lives.
 *
 * A PKCS#11 session runs one operation at a time (PKCS#11 v2.40 §5.6: a second C_SignInit on a
 * busy session fails with CKR_OPERATION_ACTIVE), so signatures go through a small pool of
 * sessions, each running one signature at a time. Login state is per token and application
 * (§5.4), so one C_Login serves every session of the pool.
 */
import { Crypto as P11Crypto } from 'node-webcrypto-p11';
import { CaError } from '../errors.js';
import type { HashName, SignatureAlgorithm } from '../asn1/algorithms.js';
import { KeyStoreUnavailableError, keyNamePattern, parseKeyUri, type KeySpec, type KeyStore, type SigningKey } from './key-store.js';

export { KeyStoreUnavailableError };

export interface Pkcs11KeyStoreOptions {
  /** Path of the PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so` for SoftHSM2). */
  module: string;
  /** CKA_LABEL of the token (`softhsm2-util --init-token --label …`). */
  token: string;
  /** The user PIN; never logged. */
  pin: string;
  /** Sessions signing in parallel (default 4). */
  sessions?: number;
}

// PKCS#11 v2.40 §5.6: CKF_RW_SESSION | CKF_SERIAL_SESSION.
const RW_SERIAL_SESSION = 0x2 | 0x4;
// PKCS#11 v2.40 §5.4, CK_C_INITIALIZE_ARGS.flags: the module may use the OS's locking primitives.
const CKF_OS_LOCKING_OK = 0x2;
const ecHash: Record<string, HashName> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' };

/** Modules loaded by this process, counted, so the last store to close finalizes (C_Finalize) the module. */
const moduleUsers = new Map<string, number>();

type Pkcs11Key = CryptoKey & { algorithm: KeyAlgorithm & { label?: string; namedCurve?: string; hash?: { name: string }; token?: boolean } };

function describeFailure(error: unknown): string {
  const e = error as { message?: string; code?: number };
  return e?.message ?? String(error);
}

export class Pkcs11KeyStore implements KeyStore {
  readonly scheme = 'pkcs11';
  readonly #options: Pkcs11KeyStoreOptions;
  #opened?: { sessions: P11Crypto[]; facade: Crypto; release: () => void };
  #queue: Array<() => void> = [];
  #idle: P11Crypto[] = [];

  constructor(options: Pkcs11KeyStoreOptions) {
    this.#options = options;
  }

  get token(): string {
    return this.#options.token;
  }

  /** Loads the module, finds the token by label and logs in; every failure names its cause and the setting to fix. */
  open(): { facade: Crypto; primary: P11Crypto } {
    if (this.#opened) return { facade: this.#opened.facade, primary: this.#opened.sessions[0] };
    const { module, token, pin } = this.#options;
    let probe: P11Crypto;
    try {
      probe = new P11Crypto({ library: module, slot: 0 });
    } catch (error) {
      const message = describeFailure(error);
      if (/Slot by index|TOKEN_NOT_RECOGNIZED|TOKEN_NOT_PRESENT/i.test(message)) {
        throw new KeyStoreUnavailableError(`PKCS#11 token "${token}" not found: ${module} has no initialised token (${message}); check PKCS11_TOKEN and that the HSM is connected`);
      }
      throw new KeyStoreUnavailableError(`PKCS#11 module ${module} could not be loaded or initialised: ${message} (check PKCS11_MODULE; for SoftHSM2, SOFTHSM2_CONF and its token directory)`);
    }
    const mod = probe.slot.module;
    const firstUser = !moduleUsers.get(module);
    moduleUsers.set(module, (moduleUsers.get(module) ?? 0) + 1);
    const release = () => {
      const users = (moduleUsers.get(module) ?? 1) - 1;
      moduleUsers.set(module, users);
      if (users === 0) {
        try {
          mod.finalize();
        } catch {
          // already finalized
        }
      }
    };
    try {
      try {
        probe.session.close();
      } catch {
        // a session the probe opened read-only on slot 0; not used
      }
      if (firstUser) {
        // node-webcrypto-p11 calls C_Initialize without arguments, which tells the module that no
        // two threads call it at once (PKCS#11 v2.40 §5.4); but signatures run on libuv's worker
        // threads while the main thread looks keys up. Start it again with CKF_OS_LOCKING_OK
        // (SoftHSM2 crashed under concurrent signing without it).
        mod.finalize();
        mod.initialize({ flags: CKF_OS_LOCKING_OK });
      }
      const slots = mod.getSlots(true);
      const labels: string[] = [];
      let slot;
      for (let i = 0; i < slots.length; i++) {
        const label = slots.items(i).getToken().label.trim();
        if (label) labels.push(label);
        if (label === token) slot = slots.items(i);
      }
      if (!slot) {
        throw new KeyStoreUnavailableError(`PKCS#11 token "${token}" not found in ${module} (tokens present: ${labels.length ? labels.map((l) => `"${l}"`).join(', ') : 'none'}); check PKCS11_TOKEN and that the HSM is connected`);
      }
      const size = Math.max(1, this.#options.sessions ?? 4);
      const sessions: P11Crypto[] = [];
      for (let i = 0; i < size; i++) sessions.push(new P11Crypto({ session: slot.open(RW_SERIAL_SESSION) }));
      try {
        sessions[0].login(pin);
      } catch (error) {
        for (const s of sessions) s.close();
        const message = describeFailure(error);
        if (/PIN_INCORRECT|PIN_INVALID|PIN_LEN_RANGE/.test(message)) throw new KeyStoreUnavailableError(`PKCS#11 token "${token}": login refused, wrong PIN (PKCS11_PIN or PKCS11_PIN_FILE)`);
        if (/PIN_LOCKED/.test(message)) throw new KeyStoreUnavailableError(`PKCS#11 token "${token}": the user PIN is locked; the security officer must unlock it`);
        throw new KeyStoreUnavailableError(`PKCS#11 token "${token}": login failed: ${message}`);
      }
      for (const s of sessions.slice(1)) s.isLoggedIn = true;
      this.#idle = [...sessions];
      const facade = this.#facade(sessions[0]);
      this.#opened = { sessions, facade, release };
      return { facade, primary: sessions[0] };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Runs `work` on an idle session, waiting for one if all are signing. */
  async #withSession<T>(work: (session: P11Crypto) => Promise<T>): Promise<T> {
    while (!this.#idle.length) await new Promise<void>((resolve) => this.#queue.push(resolve));
    const session = this.#idle.pop()!;
    try {
      return await work(session);
    } finally {
      this.#idle.push(session);
      this.#queue.shift()?.();
    }
  }

  /**
   * The WebCrypto object SigningKey.crypto carries: signatures go through the session pool,
   * digests (no secret involved) through Node's own provider, everything else to the first session.
   */
  #facade(primary: P11Crypto): Crypto {
    const subtle = new Proxy(primary.subtle, {
      get: (target, property) => {
        if (property === 'sign') {
          return (algorithm: AlgorithmIdentifier, key: CryptoKey, data: BufferSource) => this.#withSession((s) => s.subtle.sign(algorithm as Algorithm, key, data));
        }
        if (property === 'digest') return globalThis.crypto.subtle.digest.bind(globalThis.crypto.subtle);
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    return {
      subtle,
      getRandomValues: <T extends ArrayBufferView>(array: T) => globalThis.crypto.getRandomValues(array),
      randomUUID: () => globalThis.crypto.randomUUID(),
    } as unknown as Crypto;
  }

  uriOf(name: string): string {
    return `pkcs11:token=${encodeURIComponent(this.#options.token)};object=${encodeURIComponent(name)}`;
  }

  async #find(primary: P11Crypto, name: string): Promise<{ privateKey?: Pkcs11Key; publicKey?: Pkcs11Key }> {
    const found: { privateKey?: Pkcs11Key; publicKey?: Pkcs11Key } = {};
    for (const index of await primary.keyStorage.keys()) {
      if (!index.startsWith('private-') && !index.startsWith('public-')) continue;
      const key = (await primary.keyStorage.getItem(index)) as unknown as Pkcs11Key;
      if (key.algorithm.label !== name) continue;
      if (key.type === 'private') found.privateKey = key;
      if (key.type === 'public') found.publicKey = key;
    }
    return found;
  }

  async generate(spec: KeySpec, name: string): Promise<SigningKey> {
    if (!keyNamePattern.test(name)) throw new CaError('badInput', `key name "${name}" must be letters, digits, ".", "_" or "-"`);
    if (spec.type === 'rsa' && spec.pss) throw new CaError('badInput', 'RSA-PSS keys are not made in the PKCS#11 store; use ecdsa-p256/p384 or rsa-2048…4096');
    const { primary } = this.open();
    const existing = await this.#find(primary, name);
    if (existing.privateKey || existing.publicKey) throw new CaError('conflict', `key ${this.uriOf(name)} already exists`);
    // token: a persistent token object; sensitive + not extractable: C_GetAttributeValue and
    // C_WrapKey never reveal the private value (PKCS#11 v2.40 §4.9, CKA_SENSITIVE/CKA_EXTRACTABLE).
    const p11 = { label: name, token: true, sensitive: true };
    const algorithm =
      spec.type === 'ec'
        ? { name: 'ECDSA', namedCurve: spec.curve, ...p11 }
        : { name: 'RSASSA-PKCS1-v1_5', modulusLength: spec.bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256', ...p11 };
    await this.#withSession((s) => s.subtle.generateKey(algorithm as EcKeyGenParams, false, ['sign', 'verify']));
    return this.load(this.uriOf(name));
  }

  async load(uri: string): Promise<SigningKey> {
    const parsed = parseKeyUri(uri);
    if (parsed.scheme !== 'pkcs11') throw new CaError('misconfigured', `${uri}: the PKCS#11 key store only serves pkcs11: keys`);
    const { token, object } = parsed.attributes;
    if (token !== undefined && token !== this.#options.token) {
      throw new CaError('misconfigured', `key ${uri} is in token "${token}", but the service is configured for token "${this.#options.token}" (PKCS11_TOKEN)`);
    }
    if (!object) throw new CaError('misconfigured', `key ${uri}: the object= attribute (the key's label) is required`);
    const { facade, primary } = this.open();
    const { privateKey, publicKey } = await this.#find(primary, object);
    if (!privateKey || !publicKey) throw new CaError('misconfigured', `key ${uri} not found in PKCS#11 token "${this.#options.token}"`);
    let algorithm: SignatureAlgorithm;
    if (privateKey.algorithm.name === 'ECDSA') {
      const hash = ecHash[privateKey.algorithm.namedCurve ?? ''];
      if (!hash) throw new CaError('misconfigured', `key ${uri} is on curve ${privateKey.algorithm.namedCurve}, not P-256, P-384 or P-521`);
      algorithm = { name: 'ECDSA', hash };
    } else if (privateKey.algorithm.name === 'RSASSA-PKCS1-v1_5') {
      algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    } else {
      throw new CaError('misconfigured', `key ${uri} is a ${privateKey.algorithm.name} key; the CA signs with ECDSA or RSA`);
    }
    const spki = new Uint8Array(await primary.subtle.exportKey('spki', publicKey));
    return { uri, privateKey, publicKey, crypto: facade, algorithm, spki };
  }

  /** Logs out, closes the sessions, and finalizes the module when no other store uses it. */
  close(): void {
    const opened = this.#opened;
    if (!opened) return;
    this.#opened = undefined;
    this.#idle = [];
    try {
      opened.sessions[0].logout();
    } catch {
      // the token may be gone already
    }
    for (const s of opened.sessions) {
      try {
        s.close();
      } catch {
        // idem
      }
    }
    opened.release();
  }
}
