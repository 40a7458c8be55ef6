/**
 * One error type for the whole service and ONE table that maps its kind to HTTP status, RFC 7807
 * problem type and OAuth error code. Only the HTTP front end renders errors; the detail is shown
 * to clients only for statuses below 500. The domains throw their own errors (ca/errors.ts,
 * oidc/errors.ts), which
 * the front ends and the CLI map here with `asAppError`.
 */
import { CaError, type CaErrorKind } from '../../ca/errors.js';
import { ClientRegistryError, type ClientRegistryRefusal } from '../../oidc/errors.js';

export const errorKinds = {
  badRequest: { status: 400, type: 'bad-request', title: 'Bad request', oauth: 'invalid_request' },
  validationFailed: { status: 400, type: 'validation-failed', title: 'Request validation failed', oauth: 'invalid_request' },
  malformedJson: { status: 400, type: 'malformed-json', title: 'Malformed JSON body', oauth: 'invalid_request' },
  unauthorized: { status: 401, type: 'unauthorized', title: 'Authentication required', oauth: 'invalid_token' },
  forbidden: { status: 403, type: 'forbidden', title: 'Forbidden', oauth: 'insufficient_scope' },
  notFound: { status: 404, type: 'not-found', title: 'Not found', oauth: 'invalid_request' },
  methodNotAllowed: { status: 405, type: 'method-not-allowed', title: 'Method not allowed', oauth: 'invalid_request' },
  notAcceptable: { status: 406, type: 'not-acceptable', title: 'Not acceptable', oauth: 'invalid_request' },
  conflict: { status: 409, type: 'conflict', title: 'Conflict', oauth: 'invalid_request' },
  // CA domain (ca/): request problems are 400s that name the cause; CA-side faults are 500s.
  badCsr: { status: 400, type: 'bad-csr', title: 'Unusable certificate signing request', oauth: 'invalid_request' },
  badCertificate: { status: 400, type: 'bad-certificate', title: 'Unusable certificate', oauth: 'invalid_request' },
  policyViolation: { status: 400, type: 'policy-violation', title: 'Request violates the certificate policy', oauth: 'invalid_request' },
  profileNotFound: { status: 400, type: 'profile-not-found', title: 'Unknown certificate profile', oauth: 'invalid_request' },
  // Validation (src/validation/): input that is not a signature, PDF or certificate at all.
  badSignatureInput: { status: 400, type: 'bad-signature-input', title: 'Unreadable signature or document', oauth: 'invalid_request' },
  payloadTooLarge: { status: 413, type: 'payload-too-large', title: 'Request body too large', oauth: 'invalid_request' },
  unsupportedMediaType: {
    status: 415,
    type: 'unsupported-media-type',
    title: 'Unsupported content type',
    oauth: 'invalid_request',
  },
  rateLimited: { status: 429, type: 'rate-limited', title: 'Too many requests', oauth: 'slow_down' },
  notImplemented: { status: 501, type: 'not-implemented', title: 'Not implemented', oauth: 'invalid_request' },
  internal: { status: 500, type: 'internal', title: 'Internal server error', oauth: 'server_error' },
  // After `internal`, so that kindForStatus(500) still answers `internal`.
  lintFailed: { status: 500, type: 'lint-failed', title: 'Certificate failed pre-issuance lint', oauth: 'server_error' },
  misconfigured: { status: 500, type: 'misconfigured', title: 'Service misconfigured', oauth: 'server_error' },
  unavailable: { status: 503, type: 'unavailable', title: 'Service unavailable', oauth: 'temporarily_unavailable' },
  // Federation: the upstream identity provider failed or answered something unusable.
  upstreamFailed: { status: 502, type: 'upstream-failed', title: 'Upstream identity provider failed', oauth: 'temporarily_unavailable' },
  // Enrolment (docs/security.md): a login credential changed from a session too weak for it.
  stepUpRequired: { status: 403, type: 'step-up-required', title: 'Stronger authentication required', oauth: 'insufficient_user_authentication' },
} as const satisfies Record<string, { status: number; type: string; title: string; oauth: string }>;

export type ErrorKind = keyof typeof errorKinds;

export const PROBLEM_TYPE_PREFIX = 'urn:tinnhiem:problem:';

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly kind: ErrorKind,
    readonly detail: string,
    /** Extra RFC 7807 members (e.g. `errors` for validation, `retryAfter`). Never secrets. */
    readonly extensions: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(detail, options);
    this.name = 'AppError';
    this.status = errorKinds[kind].status;
  }

  get problemType(): string {
    return PROBLEM_TYPE_PREFIX + errorKinds[this.kind].type;
  }
}

/** The CA domain's error kinds (ca/errors.ts) in this table's terms. */
const caErrorKinds: Record<CaErrorKind, ErrorKind> = {
  badInput: 'badRequest',
  badCsr: 'badCsr',
  badCertificate: 'badCertificate',
  policyViolation: 'policyViolation',
  profileNotFound: 'profileNotFound',
  conflict: 'conflict',
  lintFailed: 'lintFailed',
  misconfigured: 'misconfigured',
  internal: 'internal',
};

/** The client registry's refusals (oidc/errors.ts) by kind: the problem types they always had. */
const clientRegistryKinds = {
  'invalid-metadata': 'validationFailed',
  'already-registered': 'conflict',
  'unknown-client': 'notFound',
  'no-secret': 'conflict',
} as const satisfies Record<ClientRegistryRefusal, ErrorKind>;

/**
 * The AppError an error stands for: itself, or a domain error (ca/, oidc/) through the tables,
 * with the same detail and problem list; undefined for anything else (a library's error, a bug).
 */
export function asAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof CaError) return new AppError(caErrorKinds[err.kind], err.detail, err.problems ? { problems: err.problems } : {}, { cause: err });
  if (err instanceof ClientRegistryError) {
    return new AppError(clientRegistryKinds[err.reason], err.message, err.problems ? { errors: err.problems } : {}, { cause: err });
  }
  return undefined;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/** RFC 7807 body for an AppError; 5xx problems carry no detail (it may hold internals). */
export function toProblem(error: AppError, instance?: string): Problem {
  const entry = errorKinds[error.kind];
  const problem: Problem = { type: error.problemType, title: entry.title, status: entry.status };
  if (entry.status < 500) {
    problem.detail = error.detail;
    Object.assign(problem, error.extensions);
  }
  if (instance) problem.instance = instance;
  return problem;
}

/** Maps any HTTP status that lacks an AppError (e.g. from a library) to its kind. */
export function kindForStatus(status: number): ErrorKind {
  const match = (Object.keys(errorKinds) as ErrorKind[]).find((k) => errorKinds[k].status === status);
  if (match) return match;
  return status >= 500 ? 'internal' : 'badRequest';
}
