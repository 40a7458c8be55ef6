/**
 * The key stores of one service: every key is loaded by its URI's scheme (`file:` or `pkcs11:`),
 * new keys are made in the default store (CA_KEY_STORE) unless a caller names another, so a CA
 * whose root and issuing keys live in an HSM keeps making its OCSP signer keys there too.
 */
import { CaError } from '../errors.js';
import { parseKeyUri, type KeySpec, type KeyStore, type SigningKey } from './key-store.js';

export type KeyStoreScheme = 'file' | 'pkcs11';

export class KeyStores implements KeyStore {
  constructor(
    private readonly stores: Partial<Record<KeyStoreScheme, KeyStore>>,
    private readonly defaultScheme: KeyStoreScheme,
  ) {}

  get scheme(): string {
    return this.defaultScheme;
  }

  /** The store for `scheme`; a scheme that is not configured is a misconfiguration naming the setting. */
  store(scheme: string): KeyStore {
    const store = this.stores[scheme as KeyStoreScheme];
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
