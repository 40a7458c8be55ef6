import type { TestService } from './test-app.js';
import { authorize, createOfficial, parseForms, textOf, type Browser, type PageResponse, type ParsedForm } from './oidc-rp.js';
import { registerSoftPasskey, type SoftAuthenticator } from './soft-authenticator.js';

/** The console's sign-in steps against one test service (docs/admin.md), shared by the console tests. */
export type Official = Awaited<ReturnType<typeof createOfficial>>;
type Role = 'admin' | 'ra-officer' | 'auditor' | 'official';

export function adminConsole(t: TestService) {
  const callback = `${t.url}/admin/callback`;

  /** Signs in to the console with a password (low assurance) and returns the dashboard. */
  async function signIn(browser: Browser, who: Official): Promise<PageResponse> {
    const { page } = await browser.follow(await authorize(browser, `${t.url}/admin`, callback, who));
    return page!;
  }

  /** Password, then the console's step-up answered with the passkey: a high-assurance session. */
  async function signInStrongly(browser: Browser, who: Official, passkey: SoftAuthenticator): Promise<PageResponse> {
    await signIn(browser, who);
    const { page } = await browser.follow(await authorize(browser, `${t.url}/admin/step-up?return=%2Fadmin`, callback, undefined, passkey));
    return page!;
  }

  /** An official with these roles and a registered passkey. */
  async function officer(roles: Role[]) {
    const who = await createOfficial(t, { roles });
    const passkey = await registerSoftPasskey(t.service.passkeys, who.account);
    return { who, passkey, actor: `user:${who.account.id}` };
  }

  return { callback, signIn, signInStrongly, officer };
}

/** The page's POST form whose action ends in `suffix`, or an error that shows the page. */
export function formTo(page: PageResponse, suffix: string): ParsedForm {
  const form = parseForms(page.body).find((f) => f.method === 'post' && f.action.endsWith(suffix));
  if (!form) throw new Error(`no form ending in ${suffix} on ${page.url} (${page.status}): ${textOf(page.body).slice(0, 400)}`);
  return form;
}
