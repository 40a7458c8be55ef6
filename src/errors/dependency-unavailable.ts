/**
 * Tells an unreachable database (a restart, a failover, a partition, a full pool) from a fault of
 * ours, by the shape of the error only: a request that meets one should get a quick 503 (and the
 * client retry) rather than a 500. Lives beside the error table, not in src/storage, because the
 * HTTP front end (which may not import storage) and oidc/ both map it.
 */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * SQLSTATE class 08 (connection exception), the server shutting down, starting or full, and the
 * database missing (3D000: dropped, or not yet restored): none is a fault of the request.
 */
const sqlStates = /^(08...|57P01|57P02|57P03|53300|3D000)$/;

const messages = [
  /Connection terminated/i,
  /Query read timeout/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error and is not queryable/i,
  /Knex: Timeout acquiring a connection/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (e.name === 'KnexTimeoutError' || e.name === 'DatabaseUnavailableError') return true;
  if (typeof e.code === 'string' && (networkCodes.has(e.code) || sqlStates.test(e.code))) return true;
  if (typeof e.message === 'string' && messages.some((m) => m.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

/** Seconds a client is asked to wait (Retry-After) when the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
