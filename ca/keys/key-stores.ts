/**
 * The key stores of one service: every key is loaded by its URI's scheme (`file:` or `pkcs11:`),
 * new keys are made in the default store (CA_KEY_STORE) unless a caller names another, so a CA
 * whose root and issuing keys live in an HSM keeps making its OCSP signer keys there too.
 */
import { CaError } from '../errors.js';
import { KeyStoreUnavailableError, parseKeyUri, type KeySpec, type KeyStore, type SigningKey } from './key-store.js';

export type KeyStoreScheme = 'file' | 'pkcs11' | 'root';

/** Why a `root:` key cannot be loaded here: the running service is never given its passphrase. */
export const rootKeyApart =
  'the root key is kept apart from the service, sealed with its own passphrase: sign with it in a ceremony (`tinnhiem ca ceremony …`, `ca rotate`) with --root-passphrase-file FILE or at the prompt';

export class KeyStores implements KeyStore {
  constructor(
    private readonly stores: Partial<Record<KeyStoreScheme, KeyStore>>,
    private readonly defaultScheme: KeyStoreScheme,
  ) {}

  get scheme(): string {
    return this.defaultScheme;
  }

  has(scheme: KeyStoreScheme): boolean {
    return !!this.stores[scheme];
  }

  /** The store for `scheme`; a scheme that is not configured is a misconfiguration naming the setting. */
  store(scheme: string): KeyStore {
    const store = this.stores[scheme as KeyStoreScheme];
    // A refusal of its own kind: the CLI shows it as a usage problem (exit 2), not an internal error.
    if (!store && scheme === 'root') throw new KeyStoreUnavailableError(rootKeyApart);
    if (!store) {
      throw new CaError(
        'misconfigured',
        scheme === 'pkcs11' ? 'no PKCS#11 token is configured: set PKCS11_MODULE, PKCS11_TOKEN and PKCS11_PIN (or PKCS11_PIN_FILE)' : `no "${scheme}" key store is configured`,
      );
    }
    return store;
  }

  /** The store that holds `uri`. */
  storeOf(uri: string): KeyStore {
    return this.store(parseKeyUri(uri).scheme);
  }

  generate(spec: KeySpec, name: string): Promise<SigningKey> {
    return this.store(this.defaultScheme).generate(spec, name);
  }

  load(uri: string): Promise<SigningKey> {
    return this.storeOf(uri).load(uri);
  }
}
