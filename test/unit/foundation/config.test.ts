import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, configTable, loadConfig, redactConfig } from '../../../src/config/load-config.js';
import { envVars } from '../../../src/config/schema.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tinnhiem-config-'));

function problemsOf(env: Record<string, string>, file?: string): string[] {
  try {
    loadConfig({ env, file });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('starts from safe defaults with an empty environment', () => {
    const config = loadConfig({ env: {} });
    expect(config.server.port).toBe(3000);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.server.publicUrl).toBe('http://localhost:3000');
    expect(config.database.url).toBeUndefined();
    expect(config.dataDir).toBe('./data');
    expect(config.log.level).toBe('info');
    expect(config.server.trustProxy).toBe(0);
  });

  it('maps environment variables onto the schema and coerces their types', () => {
    const config = loadConfig({
      env: { PORT: '8443', PUBLIC_URL: 'https://sso.soctrang.gov.vn/', TRUST_PROXY: 'yes', LOG_LEVEL: 'debug', DATA_DIR: '/var/lib/tinnhiem' },
    });
    expect(config.server.port).toBe(8443);
    expect(config.server.publicUrl).toBe('https://sso.soctrang.gov.vn');
    expect(config.server.trustProxy).toBe(1);
    expect(config.log.level).toBe('debug');
    expect(config.dataDir).toBe('/var/lib/tinnhiem');
  });

  it('reads TRUST_PROXY as a number of trusted proxy hops; true is one, false none', () => {
    expect(loadConfig({ env: { TRUST_PROXY: '2' } }).server.trustProxy).toBe(2);
    expect(loadConfig({ env: { TRUST_PROXY: 'true' } }).server.trustProxy).toBe(1);
    expect(loadConfig({ env: { TRUST_PROXY: 'false' } }).server.trustProxy).toBe(0);
    expect(problemsOf({ TRUST_PROXY: '-1' })[0]).toMatch(/^TRUST_PROXY \(server\.trustProxy\): expected the number of trusted proxy hops/);
    expect(problemsOf({ TRUST_PROXY: '11' })).toHaveLength(1);
  });

  it('derives the public URL from the port unless PUBLIC_URL is given', () => {
    expect(loadConfig({ env: { PORT: '8080' } }).server.publicUrl).toBe('http://localhost:8080');
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT \(server\.port\): /],
    [{ PORT: '70000' }, /^PORT \(server\.port\): .*65535/],
    [{ PUBLIC_URL: 'ftp://x' }, /^PUBLIC_URL \(server\.publicUrl\): expected an http\(s\) URL/],
    [{ TRUST_PROXY: 'maybe' }, /^TRUST_PROXY \(server\.trustProxy\): /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL \(log\.level\): /],
    [{ DATABASE_URL: 'mysql://root@localhost/x' }, /^DATABASE_URL \(database\.url\): expected postgres:\/\//],
  ])('names the field of an invalid value: %j', (env, message) => {
    const problems = problemsOf(env as Record<string, string>);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('never echoes a secret value in an error', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://u:hunter2@db/x' });
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('reads secrets from *_FILE and refuses both forms at once', () => {
    const dir = tmp();
    const file = join(dir, 'db-url');
    writeFileSync(file, 'postgres://app:s3cret@db.internal:5432/tinnhiem\n');
    expect(loadConfig({ env: { DATABASE_URL_FILE: file } }).database.url).toBe('postgres://app:s3cret@db.internal:5432/tinnhiem');
    expect(problemsOf({ DATABASE_URL_FILE: file, DATABASE_URL: 'postgres://x/y' })[0]).toMatch(/either DATABASE_URL or DATABASE_URL_FILE/);
    expect(problemsOf({ DATABASE_URL_FILE: join(dir, 'missing') })[0]).toMatch(/^DATABASE_URL_FILE \(database\.url\): cannot read .*ENOENT/);
  });

  it('reads a JSON config file that the environment overrides', () => {
    const file = join(tmp(), 'tinnhiem.json');
    writeFileSync(file, JSON.stringify({ server: { port: 4000, host: '0.0.0.0' }, log: { level: 'warn' } }));
    const config = loadConfig({ env: { TINNHIEM_CONFIG: file, LOG_LEVEL: 'error' } });
    expect(config.server.port).toBe(4000);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.log.level).toBe('error');
    writeFileSync(file, '{ not json');
    expect(problemsOf({ TINNHIEM_CONFIG: file })[0]).toMatch(/^TINNHIEM_CONFIG: cannot use /);
    writeFileSync(file, JSON.stringify({ server: { port: -1 } }));
    expect(problemsOf({ TINNHIEM_CONFIG: file })[0]).toMatch(/^PORT \(server\.port\): /);
  });

  it('redacts secrets for display', () => {
    const config = loadConfig({ env: { DATABASE_URL: 'postgres://app:s3cret@db:5432/tinnhiem' } });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain('s3cret');
    expect(shown).toContain('db:5432/tinnhiem');
  });

  it('documents every environment variable in the table, README and .env.example', async () => {
    const { readFileSync } = await import('node:fs');
    const table = configTable();
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    // README carries the generated table verbatim, so it cannot drift from the schema.
    expect(readme).toContain(`<!-- config-table:start -->\n${table}\n<!-- config-table:end -->`);
    for (const v of envVars) {
      expect(table).toContain(`\`${v.name}\``);
      expect(readme).toContain(`\`${v.name}\``);
      expect(example).toContain(v.name);
    }
  });
});
