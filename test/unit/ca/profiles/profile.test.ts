import { describe, it, expect } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultProfileDirectory, getProfile, loadProfiles, parseProfile } from '../../../../ca/profiles/profile.js';
import { tempDir } from '../support.js';

const shipped = (id: string) => JSON.parse(readFileSync(join(defaultProfileDirectory, `${id}.json`), 'utf8')) as Record<string, unknown>;

describe('certificate profiles', () => {
  it('ships the seven profiles of the hierarchy and the service, valid', async () => {
    const profiles = await loadProfiles();
    expect([...profiles.keys()]).toEqual(['issuing-ca', 'ocsp-signer', 'official-signing', 'organisation-seal', 'root-ca', 'tls-server', 'validation-report-signer']);
    expect(getProfile(profiles, 'official-signing')).toMatchObject({
      keyUsage: ['digitalSignature', 'nonRepudiation'],
      extendedKeyUsage: ['emailProtection', 'clientAuth'],
      validity: { years: 3 },
      crlDistributionPoints: true,
      freshestCrl: true,
      authorityInfoAccess: { caIssuers: true, ocsp: true },
    });
    expect(getProfile(profiles, 'organisation-seal')).toMatchObject({ validity: { years: 5 }, approvals: 2 });
    expect(getProfile(profiles, 'ocsp-signer')).toMatchObject({ extendedKeyUsage: ['OCSPSigning'], ocspNoCheck: true, crlDistributionPoints: false });
    expect(getProfile(profiles, 'issuing-ca')).toMatchObject({ type: 'issuing-ca', pathLenConstraint: 0 });
  });

  it('names an unknown profile and lists the known ones', async () => {
    const profiles = await loadProfiles();
    expect(() => getProfile(profiles, 'vip')).toThrow(expect.objectContaining({ kind: 'profileNotFound', message: expect.stringMatching(/no certificate profile "vip"; known: issuing-ca, ocsp-signer/) }));
  });

  it('names the file and field of every schema error', () => {
    const broken = { ...shipped('tls-server'), validity: { weeks: 2 }, keyUsage: ['digitalSignature', 'signEverything'], keys: { ec: ['P-192'] } };
    expect(() => parseProfile(broken, 'tls-server.json')).toThrow(
      expect.objectContaining({
        kind: 'misconfigured',
        message: expect.stringMatching(/tls-server\.json: keys\.ec\[0\]: .*tls-server\.json: validity: Unrecognized key: "weeks".*tls-server\.json: keyUsage\[1\]: /s),
      }),
    );
  });

  it('refuses inconsistent profiles', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...shipped('official-signing'), keyUsage: ['digitalSignature', 'keyCertSign'] }, /keyUsage: keyCertSign is for CA profiles/],
      [{ ...shipped('issuing-ca'), keyUsage: ['cRLSign'] }, /keyUsage: a CA profile needs keyCertSign/],
      [{ ...shipped('root-ca'), crlDistributionPoints: true }, /type: a self-signed root is a trust anchor/],
      [{ ...shipped('official-signing'), crlDistributionPoints: false }, /freshestCrl: a delta CRL pointer needs crlDistributionPoints/],
      [{ ...shipped('ocsp-signer'), extendedKeyUsage: ['clientAuth'] }, /ocspNoCheck: ocsp-nocheck is for OCSPSigning certificates/],
      [{ ...shipped('official-signing'), policies: ['1.2.x'] }, /policies\[0\]: expected a dotted object identifier/],
      [{ ...shipped('official-signing'), subject: { required: ['CN'], optional: ['CN'] } }, /subject\.optional: CN also listed as required/],
    ];
    for (const [json, message] of cases) expect(() => parseProfile(json, 'p.json')).toThrow(message);
  });

  it('refuses a file whose id differs from its name, and bad JSON, naming the path', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', 'seal.json'), JSON.stringify(shipped('organisation-seal')));
    await expect(loadProfiles(join(dir, 'a'))).rejects.toThrow(`invalid certificate profile ${join(dir, 'a', 'seal.json')}: id: "organisation-seal" differs from the file name`);
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'x.json'), '{ "id": ');
    await expect(loadProfiles(join(dir, 'b'))).rejects.toThrow(new RegExp(`invalid certificate profile ${join(dir, 'b', 'x.json')}: `));
  });
});
