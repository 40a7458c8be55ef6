import { describe, expect, it } from '@jest/globals';
import { buildProgram, commandNamed, COMMANDS } from '../../../src/cli/program.js';
import { toCliJson } from '../../../src/cli/json-output.js';

describe('the CLI program (docs/cli.md, "Start-up time")', () => {
  it('lists every command with the description its module gives it', async () => {
    const full = await buildProgram('all');
    expect(full.commands.map((c) => [c.name(), c.description()])).toEqual(COMMANDS.map((c) => [c.name, c.description]));
  });

  it('defines only the command a command line names', async () => {
    const help = await buildProgram(['--help']);
    expect(help.commands.every((c) => c.commands.length === 0 && c.options.length === 0)).toBe(true);
    const cert = await buildProgram(['-c', 'x.json', 'cert', 'list', '--json']);
    expect(cert.commands.find((c) => c.name() === 'cert')!.commands.map((c) => c.name())).toContain('list');
    expect(cert.commands.find((c) => c.name() === 'client')!.commands).toEqual([]);
  });

  it('finds the command name past global options and `help`', () => {
    expect(commandNamed(['--config', 'f.json', 'cert', 'list'])).toBe('cert');
    expect(commandNamed(['help', 'client'])).toBe('client');
    expect(commandNamed(['--help'])).toBeUndefined();
  });
});

describe('--json shape (src/cli/json-output.ts)', () => {
  it('certificates and CSRs as PEM and base64 DER, dates ISO, bigints as strings, tbs left out', () => {
    const der = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]);
    const out = toCliJson({ serial: 'ab', der, tbs: der, csr: new Uint8Array(der), certificate: null, notAfter: new Date('2027-01-02T03:04:05Z'), number: 7n, nested: [{ at: new Date(0) }] });
    expect(out).toEqual({
      serial: 'ab',
      pem: '-----BEGIN CERTIFICATE-----\nMAMCAQU=\n-----END CERTIFICATE-----\n',
      derBase64: 'MAMCAQU=',
      csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQU=\n-----END CERTIFICATE REQUEST-----\n',
      csrDerBase64: 'MAMCAQU=',
      certificatePem: null,
      certificateDerBase64: null,
      notAfter: '2027-01-02T03:04:05.000Z',
      number: '7',
      nested: [{ at: '1970-01-01T00:00:00.000Z' }],
    });
    expect(JSON.stringify(toCliJson({ blob: Buffer.from('hi') }))).toBe('{"blobBase64":"aGk="}');
  });
});
