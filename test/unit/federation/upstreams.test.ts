import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { assuranceOf, loadUpstreamsFile, requiredAcr, resolveUpstreams, upstreamAcrValues, UpstreamConfigError } from '../../../oidc/federation/upstreams.js';
import { mapClaims, UnmappableClaims } from '../../../oidc/federation/claim-mapping.js';
import { dvcqgUpstreamInput } from '../../../src/dev/dvcqg-dev.js';

const example = JSON.parse(readFileSync(new URL('../../../oidc/upstreams.example.json', import.meta.url), 'utf8')) as { upstreams: Array<Record<string, unknown>> };
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof UpstreamConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected an UpstreamConfigError');
};

describe('upstream declarations', () => {
  it('the shipped example (real DVCQG endpoints) is valid, its secret read from the environment', () => {
    const [dvcqg] = resolveUpstreams(example, { DVCQG_CLIENT_SECRET: 'bi-mat' });
    expect(dvcqg).toMatchObject({ id: 'dvcqg', kind: 'oauth2-userinfo', clientSecret: 'bi-mat', pkce: false, tokenEndpointAuthMethod: 'client_secret_post', defaultAcrValues: 'LoA1' });
    expect(dvcqg.tokenEndpoint).toBe('https://xacthuc.dichvucong.gov.vn/oauth2/token');
  });

  it('problems name the file, the path and the cause', () => {
    expect(problems(() => resolveUpstreams(example, {}, 'upstreams.json'))).toEqual(['upstreams.json: upstreams[0].clientSecret: environment variable DVCQG_CLIENT_SECRET is not set']);
    const broken = { upstreams: [{ ...example.upstreams[0], tokenEndpoint: undefined, authorizationEndpoint: 'http://dvcqg.example.vn/oauth2/authorize' }] };
    const found = problems(() => resolveUpstreams(broken, { DVCQG_CLIENT_SECRET: 'x' }, 'f.json'));
    expect(found).toEqual(
      expect.arrayContaining([
        'f.json: upstreams[0].authorizationEndpoint: expected an https URL (http only for localhost)',
        'f.json: upstreams[0].tokenEndpoint: required for kind oauth2-userinfo',
      ]),
    );
    expect(problems(() => resolveUpstreams({ upstreams: [example.upstreams[0], example.upstreams[0]] }, { DVCQG_CLIENT_SECRET: 'x' }))).toEqual(['upstreams: upstreams[1].id: dvcqg declared twice']);
    expect(problems(() => resolveUpstreams({ upstreams: [{ ...example.upstreams[0], assurance: { claim: 'loAs', levels: { LoA1: 'urn:other' } } }] }, { DVCQG_CLIENT_SECRET: 'x' }))[0]).toMatch(/upstreams\[0\]\.assurance\.levels\.LoA1/);
  });

  it('a secret file is read (and trimmed); a missing one is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'upstreams-'));
    writeFileSync(join(dir, 'secret'), 'tu-tep\n');
    const decl = { upstreams: [{ ...example.upstreams[0], clientSecret: { file: join(dir, 'secret') } }] };
    writeFileSync(join(dir, 'u.json'), JSON.stringify(decl));
    expect(loadUpstreamsFile(join(dir, 'u.json'), {})[0].clientSecret).toBe('tu-tep');
    const missing = { upstreams: [{ ...example.upstreams[0], clientSecret: { file: join(dir, 'none') } }] };
    expect(problems(() => resolveUpstreams(missing, {}))[0]).toMatch(/clientSecret: cannot read .*none: ENOENT/);
    expect(problems(() => loadUpstreamsFile(join(dir, 'absent.json')))[0]).toMatch(/^FEDERATION_UPSTREAMS_FILE: cannot use/);
  });
});

describe('assurance', () => {
  const upstream = resolveUpstreams({ upstreams: [dvcqgUpstreamInput('http://127.0.0.1:1', { clientSecret: { env: 'S' } })] }, { S: 's' })[0];

  it('maps the upstream level; unknown or missing → the lowest', () => {
    expect(assuranceOf(upstream, { loAs: 'LoA2' })).toEqual({ acr: 'urn:tinnhiem:acr:substantial', upstreamLevel: 'LoA2' });
    expect(assuranceOf(upstream, { loAs: ['LoA1', 'LoA2'] })).toEqual({ acr: 'urn:tinnhiem:acr:substantial', upstreamLevel: 'LoA2' });
    expect(assuranceOf(upstream, { loAs: 'LoA1 LoA2' }).acr).toBe('urn:tinnhiem:acr:substantial');
    expect(assuranceOf(upstream, { loAs: 'LoA9' })).toEqual({ acr: 'urn:tinnhiem:acr:low', upstreamLevel: null });
    expect(assuranceOf(upstream, {})).toEqual({ acr: 'urn:tinnhiem:acr:low', upstreamLevel: null });
  });

  it("forwards the portal's acr_values as the upstream's levels, else the upstream's default", () => {
    expect(upstreamAcrValues(upstream, [])).toBe('LoA1');
    expect(upstreamAcrValues(upstream, ['urn:tinnhiem:acr:substantial'])).toBe('LoA2');
    expect(upstreamAcrValues(upstream, ['urn:tinnhiem:acr:low'])).toBe('LoA1');
    // Nothing upstream reaches "high": ask for its best, the result check refuses the login later.
    expect(upstreamAcrValues(upstream, ['urn:tinnhiem:acr:high'])).toBe('LoA2');
    expect(upstreamAcrValues(upstream, ['something-else'])).toBe('LoA1');
    expect(requiredAcr(['urn:tinnhiem:acr:high', 'urn:tinnhiem:acr:substantial'])).toBe('urn:tinnhiem:acr:substantial');
    expect(requiredAcr(['unknown'])).toBeNull();
  });

  it('maps DVCQG claims: citizens by national ID, organisations by tax code with the acting person', () => {
    const level = { acr: 'urn:tinnhiem:acr:low', upstreamLevel: 'LoA1' };
    const citizen = mapClaims(upstream, { TechID: 't1', LoaiTaiKhoan: 1, SoDinhDanh: '094195001234', HoVaTen: '  Lê Thị Hồng Nhung ', ThuDienTu: '', GioiTinh: 'Nữ' }, level);
    expect(citizen).toMatchObject({ subject: 't1', kind: 'citizen', nationalId: '094195001234', fullName: 'Lê Thị Hồng Nhung', email: null, facts: { id: 'dvcqg', subject: 't1', GioiTinh: 'Nữ', level: 'LoA1' } });
    const org = mapClaims(upstream, { TechID: 't2', LoaiTaiKhoan: '3', SoDinhDanh: '094178006677', HoVaTen: 'Lâm Thị Thu', MaSoThue: '2200567890', TenDoanhNghiep: 'HTX' }, level);
    expect(org).toMatchObject({ kind: 'organisation', taxCode: '2200567890', organisationName: 'HTX', facts: { acting_person: { national_id: '094178006677', name: 'Lâm Thị Thu' } } });
    expect(() => mapClaims(upstream, { TechID: 't3', LoaiTaiKhoan: 7 }, level)).toThrow(UnmappableClaims);
  });
});
