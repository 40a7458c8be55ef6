import type { Config } from '../config/schema.js';
import type { IssuerRecord } from '../../ca/records.js';
import { asAppError } from '../errors/app-error.js';
import type { KeyStore, SigningKey } from '../../ca/keys/key-store.js';
import { KeyStores } from '../../ca/keys/key-stores.js';
import { KeyStoreUnavailableError } from '../../ca/keys/key-store.js';
import type { Pkcs11KeyStore } from '../../ca/keys/pkcs11-key-store.js';

/**
 * The service's key stores from its configuration: the file store always (keys are loaded by
 * URI), the PKCS#11 store when a token is configured. Nothing touches the token yet, and the
 * PKCS#11 provider (a native addon) is loaded only then, so other commands start no slower.
 */
export async function openKeyStores(config: Config, fileKeys: KeyStore, rootKeys?: KeyStore): Promise<{ keyStore: KeyStores; close: () => void }> {
  const { module, token, pin, sessions } = config.pkcs11;
  const configured = [module, token, pin].filter((v) => v !== undefined).length;
  if (configured > 0 && configured < 3) {
    const missing = [!module && 'PKCS11_MODULE', !token && 'PKCS11_TOKEN', !pin && 'PKCS11_PIN (or PKCS11_PIN_FILE)'].filter(Boolean).join(', ');
    throw new KeyStoreUnavailableError(`the PKCS#11 key store needs PKCS11_MODULE, PKCS11_TOKEN and PKCS11_PIN: ${missing} not set`);
  }
  if (config.ca.keyStore === 'pkcs11' && configured === 0) {
    throw new KeyStoreUnavailableError('CA_KEY_STORE=pkcs11 needs PKCS11_MODULE, PKCS11_TOKEN and PKCS11_PIN (or PKCS11_PIN_FILE)');
  }
  const hsm = configured === 3 ? new (await import('../../ca/keys/pkcs11-key-store.js')).Pkcs11KeyStore({ module: module!, token: token!, pin: pin!, sessions }) : undefined;
  return { keyStore: new KeyStores({ file: fileKeys, ...(hsm && { pkcs11: hsm }), ...(rootKeys && { root: rootKeys }) }, config.ca.keyStore), close: () => hsm?.close() };
}

/**
 * At start, before the service answers anything: log in to the token and load every HSM key the
 * service signs with (active issuing CAs and OCSP signers), so a wrong PIN, a missing token or a
 * deleted key stops the start with one clear message instead of failing the first signature.
 */
export async function checkHsmKeys(config: Config, keyStore: KeyStores, issuers: IssuerRecord[], load: (uri: string) => Promise<SigningKey>): Promise<void> {
  const inHsm = issuers.filter((i) => i.keyUri?.startsWith('pkcs11:') && (i.role === 'issuing' || i.role === 'ocsp-signer') && i.status === 'active');
  if (config.ca.keyStore !== 'pkcs11' && !inHsm.length) return;
  try {
    (keyStore.store('pkcs11') as Pkcs11KeyStore).open();
    for (const issuer of inHsm) await load(issuer.keyUri!);
  } catch (error) {
    const known = asAppError(error);
    if (known) throw new KeyStoreUnavailableError(known.detail);
    throw error;
  }
}
