import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log line. pino removes them before serialisation; the request
 * logger also never logs query strings (OAuth codes and tokens travel there).
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'passphrase',
  '*.passphrase',
  'secret',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  'token',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.privateKey',
  'config.database.url',
];

export function createLogger(options: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  const base: LoggerOptions = {
    name: options.name ?? 'tinnhiem',
    level: options.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination ? pino(base, options.destination) : pino(base);
}
