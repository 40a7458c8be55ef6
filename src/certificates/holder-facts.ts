/** Holder facts the registry indexes (name, national ID, agency…), from the subject the CA writes. */
import { registerCache } from '../../ca/cache-registry.js';
import type { HolderFacts } from '../../ca/records.js';
import type { IssuanceRequest } from '../../ca/issuance/request.js';
import { encodeName, formatName, parseName } from '../../ca/asn1/names.js';
import { identityFromName } from '../../ca/asn1/identity.js';

/** Holder facts the registry indexes, from the subject the CA writes. */
export function holderFacts(request: IssuanceRequest): HolderFacts {
  // A pure function of the subject and e-mails, needed at submission and again at issuance:
  // encoding and re-parsing the name is kept for the next call with the same (JSON-equal) input.
  const id = JSON.stringify([request.subject, request.emails]);
  let facts = holderFactsMemo.get(id);
  if (!facts) {
    facts = Object.freeze(holderFactsAfresh(request));
    if (holderFactsMemo.size >= 2_048) holderFactsMemo.delete(holderFactsMemo.keys().next().value!);
    holderFactsMemo.set(id, facts);
  }
  return { ...facts };
}
const holderFactsMemo = registerCache('holder facts', new Map<string, HolderFacts>());

function holderFactsAfresh(request: IssuanceRequest): HolderFacts {
  const attributes = parseName(encodeName(request.subject), 'badInput');
  const identity = identityFromName(attributes, request.emails);
  return {
    subjectDn: formatName(attributes),
    holderName: identity.commonName,
    nationalId: identity.personalId?.value ?? null,
    taxCode: identity.taxCode,
    budgetCode: identity.budgetCode,
    agency: identity.organization,
    email: identity.emails[0] ?? null,
  };
}
