import type Router from '@koa/router';
import { AppError } from '../../../errors/app-error.js';
import type { AppContext, AppState } from '../../context.js';
import { sendPage } from '../../views/html.js';
import { redirect, UUID, type AdminConsole, type Officer } from '../admin-console.js';
import { readForm, steppedUp } from '../admin-forms.js';
import { at } from '../admin-messages.js';
import { codePage, type ChangeRow } from '../views/account-change-pages.js';

/** The pending account changes as the accounts page lists them for this officer. */
export async function changeRows(c: AdminConsole, o: Officer): Promise<ChangeRow[]> {
  const nameOf = c.names();
  const changes = await c.deps.accountChanges.list({ status: 'pending', limit: 100 });
  return Promise.all(changes.map(async (ch) => ({ id: ch.id, kind: ch.kind, label: ch.label, requestedBy: await nameOf(ch.requestedBy), createdAt: ch.createdAt, own: ch.requestedBy === o.actor })));
}

function changeId(ctx: AppContext): string {
  const id = String(ctx.params.id ?? '');
  if (!UUID.test(id)) throw new AppError('notFound', `no account change ${id}`);
  return id;
}

const decide = (c: AdminConsole, decision: 'approve' | 'reject') =>
  async function decideChange(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/accounts')) return;
    const id = changeId(ctx);
    if (decision === 'approve') {
      const done = await c.deps.accountChanges.approve(o.actor, id);
      return redirect(ctx, done.account ? `/admin/accounts/${done.account.id}?done=changeApproved` : '/admin/accounts?done=changeApproved');
    }
    await c.deps.accountChanges.reject(o.actor, id, form.get('reason') ?? '');
    redirect(ctx, '/admin/accounts?done=changeRejected');
  };

/** The officer's own one-time approval code for `cert approve --approval-code` (shown once). */
const approvalCode = (c: AdminConsole) =>
  async function approvalCode(ctx: AppContext, o: Officer) {
    await readForm(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin')) return;
    const { code } = await c.deps.codes.issueNow({ accountId: o.account.id, purpose: 'cli-approval', actor: o.actor });
    ctx.set('Cache-Control', 'no-store');
    sendPage(ctx, 200, codePage(c.frame(ctx, o, 'dashboard'), at(o.lang, 'code.approvalTitle'), at(o.lang, 'code.approvalShown'), code));
  };

/** Dual control over people: approving or rejecting pending account changes; CLI approval codes. */
export function accountChangesSection(router: Router<AppState>, c: AdminConsole): void {
  router.post('/admin/account-changes/:id/approve', c.page('admin', 'accounts', decide(c, 'approve')));
  router.post('/admin/account-changes/:id/reject', c.page('admin', 'accounts', decide(c, 'reject')));
  router.post('/admin/approval-code', c.page('approve', 'dashboard', approvalCode(c)));
}
