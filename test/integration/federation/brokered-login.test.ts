import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { Browser, createOfficial, outgoingRequestsAsInProduction, parseForms, textOf } from '../../support/oidc-rp.js';
import { addPortal, brokeredLogin, finish, newCitizen, pickAtSimulator, portalAuthorizationUrl, startFederation, toSimulator, type FederationSetup, type Portal } from '../../support/federation.js';

/**
 * Issue 7: a portal (openid-client) → tinnhiem → the DVCQG simulator (a real oidc-provider
 * configured like the national portal) → back, over HTTP with a cookie-keeping browser.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let f: FederationSetup;
let portal: Portal;

const count = async (table: string) => Number(((await f.t.service.db.knex(table).count({ n: '*' })) as Array<{ n: string | number }>)[0].n);

beforeAll(async () => {
  await outgoingRequestsAsInProduction();
  f = await startFederation();
  portal = await addPortal(f.t, 'cong-dvc-tinh');
});

afterAll(async () => {
  await f?.close();
});

describe(`log in with DVCQG (${db})`, () => {
  it('acceptance 1: the ID token carries the mapped acr, amr with fed, and the vn_identity claims', async () => {
    const person = newCitizen(f.sim, { HoVaTen: 'Lê Thị Hồng Nhung', ThuDienTu: 'nhung@example.vn' });
    const browser = new Browser();
    const { tokens } = await brokeredLogin(browser, portal, person.TechID, 'LoA2', { acr_values: 'urn:tinnhiem:acr:substantial' });
    const claims = tokens.claims()!;
    expect(claims.acr).toBe('urn:tinnhiem:acr:substantial');
    expect(claims.amr).toEqual(['fed']);
    // The simulator got DVCQG's request: configured endpoints, the level asked for, no PKCE or nonce.
    expect(f.sim.authorizations.at(-1)).toEqual({ clientId: 'tinnhiem-dev', acrValues: 'LoA2', codeChallenge: false, nonce: false });

    const userinfo = await client.fetchUserInfo(portal.config, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({
      sub: claims.sub,
      name: 'Lê Thị Hồng Nhung',
      family_name: 'Lê',
      given_name: 'Nhung',
      vn_national_id: person.SoDinhDanh,
      vn_account_type: 'citizen',
      vn_upstream: { id: 'dvcqg', subject: person.TechID, LoaiTaiKhoan: 1, level: 'LoA2', GioiTinh: 'Nam' },
    });
    // The upstream's e-mail is kept for display only: never verified.
    const account = await f.t.service.accounts.findById(claims.sub);
    expect(account).toMatchObject({ kind: 'citizen', nationalId: person.SoDinhDanh, email: 'nhung@example.vn', emailVerified: false, username: null });
    const events = await f.t.service.audit.list({ target: `account:${claims.sub}` });
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['account.create', 'account.link', 'login.success']));
  });

  it('no acr_values from the portal: DVCQG is asked for LoA1 and LoA1 maps to the lowest level', async () => {
    const person = newCitizen(f.sim);
    const { tokens } = await brokeredLogin(new Browser(), portal, person.TechID, 'LoA1');
    expect(f.sim.authorizations.at(-1)?.acrValues).toBe('LoA1');
    expect(tokens.claims()).toMatchObject({ acr: 'urn:tinnhiem:acr:low', amr: ['fed'] });
  });

  it('acceptance 2: the same TechID twice gives the same sub, and one account', async () => {
    const person = newCitizen(f.sim);
    const first = await brokeredLogin(new Browser(), portal, person.TechID, 'LoA1');
    const accounts = await count('accounts');
    const second = await brokeredLogin(new Browser(), portal, person.TechID, 'LoA2');
    expect(second.tokens.claims()!.sub).toBe(first.tokens.claims()!.sub);
    expect(await count('accounts')).toBe(accounts);
  });

  it('acceptance 2: an official with that national ID is linked only after confirming with their password', async () => {
    const official = await createOfficial(f.t, { email: 'chung@soctrang.gov.vn' });
    const person = newCitizen(f.sim, { SoDinhDanh: official.account.nationalId!, HoVaTen: official.account.fullName });
    const before = { accounts: await count('accounts'), links: await count('federated_identities') };

    // First attempt: a wrong password links nothing.
    const browser = new Browser();
    const start = await portalAuthorizationUrl(portal);
    const callback = await pickAtSimulator(browser, await toSimulator(browser, start), person.TechID, 'LoA2');
    const { page } = await finish(browser, callback, portal);
    expect(page?.status).toBe(200);
    expect(textOf(page!.body)).toContain(official.login);
    const form = parseForms(page!.body).find((x) => x.action.endsWith('/federation-link'))!;
    expect(form).toBeDefined();
    const wrong = await browser.submit(page!, form, { password: 'not the password at all' });
    expect(wrong.status).toBe(401);
    expect(await count('federated_identities')).toBe(before.links);

    // Without the CSRF token of the form: refused.
    const forged = await browser.submit(wrong, { ...parseForms(wrong.body).find((x) => x.action.endsWith('/federation-link'))!, fields: {} }, { password: official.password });
    expect(forged.status).toBe(403);

    const retry = parseForms(wrong.body).find((x) => x.action.endsWith('/federation-link'))!;
    const ok = await browser.submit(wrong, retry, { password: official.password });
    expect(ok.status).toBe(303);
    const { stoppedAt } = await browser.follow(ok, portal.redirect);
    const tokens = await client.authorizationCodeGrant(portal.config, stoppedAt!, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true });
    expect(tokens.claims()).toMatchObject({ sub: official.account.id, acr: 'urn:tinnhiem:acr:substantial', amr: ['fed', 'pwd'] });
    expect(await count('accounts')).toBe(before.accounts);
    expect(await count('federated_identities')).toBe(before.links + 1);

    // From now on the TechID logs the official in directly.
    const again = await brokeredLogin(new Browser(), portal, person.TechID, 'LoA1');
    expect(again.tokens.claims()).toMatchObject({ sub: official.account.id, amr: ['fed'] });
  });

  it('acceptance 2: an account with the same e-mail but another national ID is never linked', async () => {
    const official = await createOfficial(f.t, { email: 'trung-email@soctrang.gov.vn' });
    const person = newCitizen(f.sim, { ThuDienTu: 'trung-email@soctrang.gov.vn', SoDienThoai: '0900000001', HoVaTen: official.account.fullName });
    const { tokens } = await brokeredLogin(new Browser(), portal, person.TechID, 'LoA2');
    const sub = tokens.claims()!.sub;
    expect(sub).not.toBe(official.account.id);
    const account = await f.t.service.accounts.findById(sub);
    expect(account).toMatchObject({ kind: 'citizen', nationalId: person.SoDinhDanh });
    expect(await f.t.service.federated.linksOf(official.account.id)).toEqual([]);
  });

  it('two first logins of one person at once end with one account and one link', async () => {
    const identity = {
      upstream: 'dvcqg',
      subject: `concurrent-${Date.now()}`,
      kind: 'citizen' as const,
      nationalId: '094199112233',
      fullName: 'Huỳnh Văn Song Song',
      email: null,
      phone: null,
      taxCode: null,
      organisationName: null,
      facts: { id: 'dvcqg' },
    };
    const results = await Promise.all([1, 2, 3].map(() => f.t.service.federated.login(identity, { ip: '127.0.0.1', acr: 'urn:tinnhiem:acr:low' })));
    const ids = new Set(results.map((r) => (r.status === 'ok' ? r.account.id : r.status)));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 'ok' && r.created)).toHaveLength(1);
    const rows = async (table: string, where: Record<string, string>) => Number(((await f.t.service.db.knex(table).where(where).count({ n: '*' })) as Array<{ n: string | number }>)[0].n);
    expect(await rows('accounts', { national_id: '094199112233' })).toBe(1);
    expect(await rows('federated_identities', { subject: identity.subject })).toBe(1);
  });

  it('a linked subject that now names another national ID, or a disabled account, is refused with access_denied', async () => {
    const person = newCitizen(f.sim);
    const first = await brokeredLogin(new Browser(), portal, person.TechID, 'LoA1');
    const refusedWith = async (techId: string) => {
      const browser = new Browser();
      const start = await portalAuthorizationUrl(portal);
      const callback = await pickAtSimulator(browser, await toSimulator(browser, start), techId, 'LoA1');
      const { page } = await finish(browser, callback, portal);
      expect(page?.status).toBe(403);
      expect(textOf(page!.body)).toMatch(/liên hệ bộ phận hỗ trợ/);
      const back = /href="([^"]+)" id="return-to-portal"/.exec(page!.body)![1].replace(/&amp;/g, '&');
      const { stoppedAt } = await browser.follow(new URL(back, page!.url), portal.redirect);
      return stoppedAt!.searchParams.get('error');
    };

    f.sim.addPerson({ ...person, SoDinhDanh: '094100999888' } as never);
    expect(await refusedWith(person.TechID)).toBe('access_denied');
    f.sim.addPerson(person as never);

    await f.t.service.accounts.setStatus('test', person.SoDinhDanh, 'disabled');
    expect(await refusedWith(person.TechID)).toBe('access_denied');
    await f.t.service.accounts.setStatus('test', person.SoDinhDanh, 'active');
    const again = await brokeredLogin(new Browser(), portal, person.TechID, 'LoA1');
    expect(again.tokens.claims()!.sub).toBe(first.tokens.claims()!.sub);
  });

  it('an enterprise login is keyed by tax code, with the acting person kept', async () => {
    const browser = new Browser();
    const { tokens } = await brokeredLogin(browser, portal, 'b3f1c2d4-0004-4a6e-9c11-5f0e2a7d9004', 'LoA2');
    const claims = tokens.claims()!;
    const userinfo = await client.fetchUserInfo(portal.config, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({
      name: 'CÔNG TY TNHH THỦY SẢN MINH TÂM',
      vn_account_type: 'enterprise',
      vn_tax_code: '2200123456',
      vn_upstream: { id: 'dvcqg', LoaiTaiKhoan: 2, acting_person: { national_id: '094180004455', name: 'Trương Minh Tâm' } },
    });
    expect(userinfo.vn_national_id).toBeUndefined();
  });

  it('acceptance 3: acr_values asking LoA2 while DVCQG returns LoA1 → unmet_authentication_requirements, no session, nothing written', async () => {
    const person = newCitizen(f.sim);
    const before = { accounts: await count('accounts'), links: await count('federated_identities') };
    const browser = new Browser();
    const start = await portalAuthorizationUrl(portal, { acr_values: 'urn:tinnhiem:acr:substantial' });
    const callback = await pickAtSimulator(browser, await toSimulator(browser, start), person.TechID, 'LoA1');
    expect(f.sim.authorizations.at(-1)?.acrValues).toBe('LoA2');
    const { page } = await finish(browser, callback, portal);
    expect(page?.status).toBe(403);
    expect(textOf(page!.body)).toMatch(/LoA1/);
    const back = /href="([^"]+)" id="return-to-portal"/.exec(page!.body)![1].replace(/&amp;/g, '&');
    const { stoppedAt } = await browser.follow(new URL(back, page!.url), portal.redirect);
    expect(stoppedAt!.searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(stoppedAt!.searchParams.get('state')).toBe(start.state);
    expect(await count('accounts')).toBe(before.accounts);
    expect(await count('federated_identities')).toBe(before.links);
    // No elevated (or any) session: the next authorization asks for a login again.
    const { page: again } = await browser.follow(new URL((await portalAuthorizationUrl(portal)).url));
    expect(again?.status).toBe(200);
    expect(again?.body).toContain('data-method="federation-dvcqg"');
  });

  it('acceptance 5: a callback whose state does not match is refused, and so is a replayed callback', async () => {
    const person = newCitizen(f.sim);
    const browser = new Browser();
    const start = await portalAuthorizationUrl(portal);
    const callback = await pickAtSimulator(browser, await toSimulator(browser, start), person.TechID, 'LoA1');

    // Another state on the same browser (a forged or stale link): refused, the pending login kept.
    const tampered = new URL(callback);
    tampered.searchParams.set('state', 'forged-state-value');
    const refused = await browser.get(tampered);
    expect(refused.status).toBe(400);
    expect(textOf(refused.body)).toMatch(/không khớp/);

    // The real callback in another browser (no pending-login cookie): refused.
    const stolen = await new Browser().get(callback);
    expect(stolen.status).toBe(400);

    const accounts = await count('accounts');
    const done = await finish(browser, callback, portal);
    expect(done.redirect?.searchParams.get('code')).toBeTruthy();
    expect(await count('accounts')).toBe(accounts + 1);

    // Replayed in the same browser: the one-time state is gone.
    const replay = await browser.get(callback);
    expect(replay.status).toBe(400);
    expect(textOf(replay.body)).toMatch(/đã được sử dụng/);
    expect(await count('accounts')).toBe(accounts + 1);
  });
});
