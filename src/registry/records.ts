/**
 * The registry's domain types: what storage returns and services and routers use. They belong to
 * the CA domain (ca/records.ts), whose ports the storage implements; re-exported here so the
 * services and front ends name them in one place.
 */
export {
  REVOCATION_REASONS,
  type CertificateRecord,
  type CertificateRequestRecord,
  type CertificateSearch,
  type CertificateStatus,
  type HolderFacts,
  type IssuerRecord,
  type IssuerRecord as IssuerRow,
  type RequestStatus,
  type RevocationReasonName,
} from '../../ca/records.js';
