/**
 * Every environment variable: its config path and the documentation that the README's table,
 * `.env.example` and `tinnhiem config variables` show (a test keeps them in step).
 */
export interface EnvVar {
  name: string;
  /** Dotted path in the config object. */
  path: string;
  doc: string;
  /** Secret values are never echoed in errors or logs and may be given as `${name}_FILE`. */
  secret?: boolean;
}

/** The environment variables, in the order the docs list them. */
export const envVars: readonly EnvVar[] = [
  { name: 'PORT', path: 'server.port', doc: 'TCP port of the HTTP listener (0 picks a free port).' },
  { name: 'HOST', path: 'server.host', doc: 'Address to listen on. Use 0.0.0.0 in a container or behind a reverse proxy.' },
  {
    name: 'PUBLIC_URL',
    path: 'server.publicUrl',
    doc: 'External base URL as clients see it (default http://localhost:PORT); the OIDC issuer derives from it, and (over plain http, unless PKI_BASE_URL is set) the CRL and OCSP URLs.',
  },
  {
    name: 'TRUST_PROXY',
    path: 'server.trustProxy',
    doc: 'Number of reverse proxies in front of the service (0: none). The client address is taken that many entries from the right of X-Forwarded-For, and X-Forwarded-Proto/-Host are believed; `true` means 1, `false` 0.',
  },
  { name: 'BODY_LIMIT_BYTES', path: 'server.bodyLimitBytes', doc: 'Largest request body accepted; larger gets 413.' },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    path: 'server.shutdownTimeoutMs',
    doc: 'On SIGTERM/SIGINT, how long in-flight requests may take before connections are closed.',
  },
  {
    name: 'DATABASE_URL',
    path: 'database.url',
    doc: 'PostgreSQL connection URL. When unset, the embedded database (PGlite) in DATA_DIR is used.',
    secret: true,
  },
  { name: 'DATABASE_POOL_MAX', path: 'database.poolMax', doc: 'Largest PostgreSQL connection pool.' },
  { name: 'DATA_DIR', path: 'dataDir', doc: 'Directory for the embedded database and key files.' },
  { name: 'LOG_LEVEL', path: 'log.level', doc: 'fatal, error, warn, info, debug, trace or silent.' },
  {
    name: 'MASTER_PASSPHRASE',
    path: 'secrets.masterPassphrase',
    doc: 'Passphrase (≥ 12 characters) that seals token signing keys, client secrets and cookie keys at rest. Required outside `serve --dev`, which generates DATA_DIR/dev-master-passphrase.',
    secret: true,
  },
  { name: 'ACCESS_TOKEN_TTL_SECONDS', path: 'oidc.accessTokenTtlSeconds', doc: 'Lifetime of access tokens.' },
  { name: 'ID_TOKEN_TTL_SECONDS', path: 'oidc.idTokenTtlSeconds', doc: 'Lifetime of ID tokens.' },
  { name: 'REFRESH_TOKEN_TTL_SECONDS', path: 'oidc.refreshTokenTtlSeconds', doc: 'Lifetime of refresh tokens (rotated on every use).' },
  { name: 'SESSION_TTL_SECONDS', path: 'oidc.sessionTtlSeconds', doc: 'Lifetime of a single sign-on session.' },
  { name: 'OIDC_KEY_POLL_SECONDS', path: 'oidc.keyPollSeconds', doc: 'How often a node checks for rotated signing keys.' },
  { name: 'CA_NAME', path: 'ca.name', doc: 'Short name in the CA certificates\' common names ("<name> Root CA", "<name> Issuing CA 2026").' },
  { name: 'CA_ORGANISATION', path: 'ca.organisation', doc: 'O of the CA certificates, e.g. "ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG".' },
  { name: 'CA_LOCALITY', path: 'ca.locality', doc: 'L of the CA certificates (province or city); unset leaves it out.' },
  { name: 'CA_KEY_TYPE', path: 'ca.keyType', doc: 'Key type of CA keys made by `tinnhiem ca init`: ecdsa-p256, ecdsa-p384, rsa-2048…4096, rsa-pss-2048…4096.' },
  { name: 'CRL_VALIDITY_HOURS', path: 'ca.crlValidityHours', doc: 'nextUpdate of full CRLs; they are regenerated at half-life and on every revocation.' },
  { name: 'DELTA_CRL_VALIDITY_MINUTES', path: 'ca.deltaCrlValidityMinutes', doc: 'nextUpdate of delta CRLs.' },
  { name: 'ROOT_CRL_VALIDITY_DAYS', path: 'ca.rootCrlValidityDays', doc: 'nextUpdate of the root\'s CRL (signed only by explicit CA commands).' },
  { name: 'ROOT_CRL_WARN_DAYS', path: 'ca.rootCrlWarnDays', doc: 'The service warns (log, metric `tinnhiem_root_crl_next_update_seconds`) this many days before the root CRL\'s nextUpdate: renew it in a ceremony (`ca ceremony root-crl`).' },
  {
    name: 'OCSP_SIGNER',
    path: 'ocsp.signer',
    doc: 'Who signs OCSP responses: `delegated` (the issuing CA\'s OCSP signer certificate, id-kp-OCSPSigning + ocsp-nocheck) or `ca` (the issuing CA key itself).',
  },
  { name: 'OCSP_VALIDITY_HOURS', path: 'ocsp.validityHours', doc: 'nextUpdate − thisUpdate of OCSP responses; pre-signed responses are re-signed at half-life.' },
  {
    name: 'OCSP_MAX_AGE_SECONDS',
    path: 'ocsp.maxAgeSeconds',
    doc: 'Upper bound on Cache-Control max-age of GET responses: how long an HTTP cache or CDN may keep serving a response after the status changed (0: until nextUpdate).',
  },
  {
    name: 'OCSP_MAX_INFLIGHT_SIGNINGS',
    path: 'ocsp.maxInflightSignings',
    doc: 'Live signings (nonce requests, first requests of a CertID variant) running at once per node; past it, `tryLater`.',
  },
  { name: 'OCSP_CACHE_ENTRIES', path: 'ocsp.cacheEntries', doc: 'Pre-signed responses kept in memory per node (about 1 KB each); the rest are read from the database.' },
  { name: 'OCSP_REFRESH_BATCH', path: 'ocsp.refreshBatch', doc: 'Most responses the background job signs in one run (one node at a time holds the job\'s lease).' },
  { name: 'OCSP_REFRESH_INTERVAL_SECONDS', path: 'ocsp.refreshIntervalSeconds', doc: 'How often the background job looks for responses that are missing or past half-life.' },
  {
    name: 'OCSP_CHANGE_POLL_MS',
    path: 'ocsp.changePollMs',
    doc: 'How often a node reads the status-change feed and renews its heartbeat (on PostgreSQL, LISTEN/NOTIFY delivers changes at once; polling is the fallback).',
  },
  {
    name: 'OCSP_PROPAGATION_TIMEOUT_MS',
    path: 'ocsp.propagationTimeoutMs',
    doc: 'How long a revoke, hold or release waits for every live node to drop its old response before it returns (a node that falls behind stops answering); never less than OCSP_FENCE_MS + 2 s.',
  },
  { name: 'LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS', path: 'login.maxFailuresPerAccountAddress', doc: 'Failed password logins on one account from one client address, within LOGIN_FAILURE_WINDOW_SECONDS, that lock the password for that address.' },
  { name: 'LOGIN_MAX_FAILURES_PER_ADDRESS', path: 'login.maxFailuresPerAddress', doc: 'Failed password logins from one client address, within the window, that lock that address.' },
  { name: 'LOGIN_FAILURE_WINDOW_SECONDS', path: 'login.failureWindowSeconds', doc: 'Window in which failed logins per (account, address) and per address are counted.' },
  { name: 'LOGIN_LOCK_SECONDS', path: 'login.lockSeconds', doc: 'How long a locked (account, address) or address is refused.' },
  { name: 'LOGIN_MAX_FAILURES_PER_ACCOUNT', path: 'login.maxFailuresPerAccount', doc: 'Failed password logins on one account from all addresses, within LOGIN_ACCOUNT_FAILURE_WINDOW_SECONDS, that lock its password (passkey and certificate logins stay open).' },
  { name: 'LOGIN_ACCOUNT_FAILURE_WINDOW_SECONDS', path: 'login.accountFailureWindowSeconds', doc: 'Window in which failed password logins per account are counted.' },
  { name: 'LOGIN_ACCOUNT_LOCK_SECONDS', path: 'login.accountLockSeconds', doc: 'How long an account whose password is locked refuses password logins.' },
  { name: 'LOGIN_HASH_CONCURRENCY', path: 'login.hashConcurrency', doc: 'Password verifications (scrypt) run at once; the rest wait in the queue.' },
  { name: 'LOGIN_HASH_QUEUE', path: 'login.hashQueue', doc: 'Password logins that may wait for a verification slot; beyond it the most suspect waiter is refused with 429 + Retry-After.' },
  { name: 'LOGIN_HASH_WAIT_MS', path: 'login.hashWaitMs', doc: 'Longest wait for a verification slot before 429 + Retry-After.' },
  { name: 'CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_ADDRESS', path: 'login.clientAuthMaxFailuresPerClientAddress', doc: 'Failed client authentications at the token, introspection and revocation endpoints for one client from one address, within LOGIN_FAILURE_WINDOW_SECONDS, that lock that client for that address (LOGIN_LOCK_SECONDS).' },
  { name: 'CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS', path: 'login.clientAuthMaxFailuresPerAddress', doc: 'Failed client authentications from one address, within the window, that lock that address at those endpoints.' },
  {
    name: 'FEDERATION_UPSTREAMS_FILE',
    path: 'federation.upstreamsFile',
    doc: 'JSON file declaring the upstream identity providers ("log in with DVCQG"; see oidc/upstreams.example.json and docs/federation.md). Unset: none, except that `serve --dev` starts the DVCQG simulator and uses it.',
  },
  { name: 'FEDERATION_TIMEOUT_MS', path: 'federation.timeoutMs', doc: 'How long one request to an upstream identity provider (token, userinfo, discovery) may take before the login fails with a clear page.' },
  { name: 'DVCQG_SIM_PORT', path: 'federation.simulatorPort', doc: 'Port of the DVCQG simulator that `serve --dev` (npm start) and `npm run dvcqg-sim` start (development only).' },
  { name: 'WEBAUTHN_RP_ID', path: 'webauthn.rpId', doc: 'WebAuthn relying party ID of passkeys (default: the host name of PUBLIC_URL). Changing it orphans every registered passkey.' },
  { name: 'WEBAUTHN_RP_NAME', path: 'webauthn.rpName', doc: 'Name the authenticator shows for passkeys of this service.' },
  { name: 'WEBAUTHN_ORIGINS', path: 'webauthn.origins', doc: 'Comma-separated origins allowed in passkey ceremonies (default: the origin of PUBLIC_URL).' },
  { name: 'WEBAUTHN_TIMEOUT_SECONDS', path: 'webauthn.timeoutSeconds', doc: 'How long a passkey ceremony (its single-use challenge) stays valid.' },
  { name: 'CERT_LOGIN_TLS_PORT', path: 'certLogin.tlsPort', doc: 'Port of the optional mutual-TLS listener for certificate login (unset: no listener).' },
  { name: 'CERT_LOGIN_TLS_CERT_FILE', path: 'certLogin.tlsCertFile', doc: 'PEM server certificate (and chain) of the mutual-TLS listener.' },
  { name: 'CERT_LOGIN_TLS_KEY_FILE', path: 'certLogin.tlsKeyFile', doc: 'PEM private key of the mutual-TLS listener.' },
  { name: 'CERT_LOGIN_PUBLIC_URL', path: 'certLogin.publicUrl', doc: 'External https URL of the mutual-TLS listener (default https://<PUBLIC_URL host>:CERT_LOGIN_TLS_PORT).' },
  {
    name: 'CERT_LOGIN_CA_BUNDLE_FILE',
    path: 'certLogin.caBundleFile',
    doc: 'PEM bundle of other CAs whose certificates may log in; their status comes from the OCSP responder named in each certificate (AIA). The issuing CAs of this service are always trusted.',
  },
  { name: 'CERT_LOGIN_PROXY_HEADER', path: 'certLogin.proxyHeader', doc: 'Header in which a TLS-terminating reverse proxy passes the client certificate (URL-encoded PEM, nginx $ssl_client_escaped_cert).' },
  { name: 'CERT_LOGIN_TRUSTED_PROXIES', path: 'certLogin.trustedProxies', doc: 'Comma-separated addresses or CIDR ranges of the proxies whose certificate header is believed; from any other address it is refused.' },
  {
    name: 'VALIDATION_TRUST_ANCHORS',
    path: 'validation.trustAnchors',
    doc: 'Comma-separated PEM/DER files of extra trust anchors for signature validation (e.g. the VGCA and national roots); our own roots are always trusted. More with `tinnhiem trust add`.',
  },
  { name: 'VALIDATION_MAX_BYTES', path: 'validation.maxBytes', doc: 'Largest request body of the validation endpoints (PDFs); other routes keep BODY_LIMIT_BYTES.' },
  { name: 'VALIDATION_MAX_SIGNATURES', path: 'validation.maxSignatures', doc: 'Most signatures (PDF fields or CMS signers) validated in one request; more is a 400.' },
  { name: 'VALIDATION_TIME_BUDGET_MS', path: 'validation.timeBudgetMs', doc: 'Wall-clock budget of one validation request; past it the request fails with 413.' },
  {
    name: 'VALIDATION_FETCH',
    path: 'validation.fetch',
    doc: 'Fetch OCSP responses and CRLs of other CAs named in their certificates (cached until nextUpdate). Off: their status is INDETERMINATE / TRY_LATER.',
  },
  { name: 'VALIDATION_FETCH_TIMEOUT_MS', path: 'validation.fetchTimeoutMs', doc: 'Timeout of one OCSP or CRL fetch (signature validation, and another CA’s OCSP responder at certificate login).' },
  {
    name: 'VALIDATION_FETCH_PRIVATE_NETWORKS',
    path: 'validation.fetchPrivateNetworks',
    doc: 'Allow OCSP/CRL fetches (signature validation and certificate login) to private, loopback, link-local and reserved addresses, in any spelling: for tests and development only. Off: a certificate cannot point the service at internal services (docs/validation.md).',
  },
  { name: 'VERIFY_MAX_BYTES', path: 'verify.maxBytes', doc: 'Largest upload of the public /verify page (anonymous; processed in memory, never stored); larger gets 413.' },
  { name: 'VERIFY_UPLOADS_PER_MINUTE', path: 'verify.uploadsPerMinute', doc: 'Uploads to /verify accepted per client address (TRUST_PROXY-aware) and minute on one node; more get 429 with Retry-After.' },
  { name: 'CA_KEY_STORE', path: 'ca.keyStore', doc: 'Where new CA and OCSP signer keys are made: `file` (encrypted PKCS#8 in DATA_DIR/keys) or `pkcs11` (an HSM token; see docs/hsm.md). Keys are always loaded by their URI.' },
  { name: 'PKCS11_MODULE', path: 'pkcs11.module', doc: 'Path of the HSM\'s PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.' },
  { name: 'PKCS11_TOKEN', path: 'pkcs11.token', doc: 'Label of the PKCS#11 token holding the CA keys (the `token=` of their pkcs11: URIs).' },
  { name: 'PKCS11_PIN', path: 'pkcs11.pin', doc: 'User PIN of the token. A wrong PIN or a missing token stops the service at start (exit code 2).', secret: true },
  { name: 'PKCS11_SESSIONS', path: 'pkcs11.sessions', doc: 'PKCS#11 sessions signing in parallel (a session signs one thing at a time).' },
  // Fault tolerance (issue 10): bounds on an unreachable database, and the OCSP fence.
  {
    name: 'DATABASE_ACQUIRE_TIMEOUT_MS',
    path: 'database.acquireTimeoutMs',
    doc: 'Longest wait for a PostgreSQL connection (pool busy, or the server not answering a connect); past it the request gets 503 problem+json.',
  },
  {
    name: 'DATABASE_QUERY_TIMEOUT_MS',
    path: 'database.queryTimeoutMs',
    doc: 'Longest a PostgreSQL query may take on the client side (0: no limit), so a server that vanished mid-query (a partition) fails the request with 503 instead of hanging it. `tinnhiem migrate` runs without it.',
  },
  {
    name: 'OCSP_FENCE_MS',
    path: 'ocsp.fenceMs',
    doc: 'How long an OCSP node keeps answering from memory when it cannot read the status-change feed (a database restart); after that it answers tryLater. A revoke waits up to this plus 2 s for a silent node (at least 3 × OCSP_CHANGE_POLL_MS).',
  },
  // Audit checkpoints (issue 18).
  {
    name: 'AUDIT_KEY_URI',
    path: 'audit.keyUri',
    doc: 'Key that signs audit checkpoints (`file:<name>` or `pkcs11:token=…;object=…`; make one with `tinnhiem audit key create`). Unset: no checkpoints, and the audit log is not anchored outside the database.',
  },
  { name: 'AUDIT_PUBLIC_KEY_FILE', path: 'audit.publicKeyFile', doc: 'PEM public key (or certificate) of the audit key, with which `tinnhiem audit verify` checks checkpoints (`--public-key` overrides it).' },
  {
    name: 'AUDIT_CHECKPOINT_FILE',
    path: 'audit.checkpointFile',
    doc: 'Append-only file that receives every checkpoint, one JSON line each: put it on another volume or host. Default DATA_DIR/audit-checkpoints.jsonl, for development only.',
  },
  { name: 'AUDIT_SYSLOG_URL', path: 'audit.syslogUrl', doc: 'Remote syslog (RFC 5424) that also receives every checkpoint: udp://host[:514] or tcp://host[:601].' },
  { name: 'AUDIT_TSA_URL', path: 'audit.tsaUrl', doc: 'RFC 3161 time-stamping authority that time-stamps every checkpoint (the token is kept in the checkpoint line).' },
  { name: 'AUDIT_TSA_CERT_FILE', path: 'audit.tsaCertFile', doc: 'PEM certificate of the TSA (or its CA) that `tinnhiem audit verify` requires as the signer of checkpoint time-stamps.' },
  { name: 'AUDIT_CHECKPOINT_EVENTS', path: 'audit.checkpointEvents', doc: 'A checkpoint is signed once this many events were added since the last one…' },
  { name: 'AUDIT_CHECKPOINT_SECONDS', path: 'audit.checkpointSeconds', doc: '…or once this many seconds passed since the last one and there are new events (one node at a time signs, by lease).' },
  { name: 'AUDIT_SINK_TIMEOUT_MS', path: 'audit.sinkTimeoutMs', doc: 'Timeout of one delivery to the syslog server or the TSA; a failed delivery is retried at the next run.' },
  // Name policy (issue 18).
  { name: 'CA_DNS_SUFFIXES', path: 'ca.dnsSuffixes', doc: 'JSON object: profile id → DNS zones whose names it may certify, added to those the profile declares, e.g. {"tls-server":["soctrang.gov.vn"]}. A profile with none issues no DNS name (docs/ca.md, "Name policy").' },
  { name: 'CA_REQUESTER_DNS_SUFFIXES', path: 'ca.requesterDnsSuffixes', doc: 'JSON object: requester (`client:<id>`, `user:<id>`) → the DNS zones it may request names under, a subset of the profile\'s; requesters not listed may ask for any zone of the profile.' },
  { name: 'CA_PROFILE_APPROVALS', path: 'ca.profileApprovals', doc: 'JSON object: profile id → distinct RA officers who must approve a request, replacing the profile\'s number, e.g. {"tls-server":0} where another system has checked control of every name (tls-server needs 1 by default).' },
  { name: 'CA_POLICY_ARC', path: 'ca.policyArc', doc: 'The operator\'s registered OID arc for certificate policies (e.g. 1.3.6.1.4.1.<PEN>.1 under an IANA Private Enterprise Number); the profiles\' policies are arc.1.1 (official-signing), arc.1.2 (seal), arc.1.3 (TLS), arc.1.4 (OCSP signer). Required by `ca init` outside --dev; unset: the development arc 2.999 (X.660 example).' },
  { name: 'PKI_BASE_URL', path: 'ca.pkiBaseUrl', doc: 'Plain http:// base of the CRL, CA-certificate and OCSP URLs written into certificates (CDP, AIA), independent of PUBLIC_URL (default: the host of PUBLIC_URL over http). `ca init` and `ca rotate` refuse a localhost URL unless --dev.' },
  { name: 'CA_ISSUING_NAME_CONSTRAINTS', path: 'ca.issuingNameConstraints', doc: 'Write RFC 5280 nameConstraints into issuing CAs made from now on (`ca init`, `ca rotate`): permitted DNS subtrees = the DNS suffixes of the profiles, so relying parties refuse any other name under them.' },
];
