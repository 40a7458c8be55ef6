import type Router from '@koa/router';
import { z } from 'zod';
import { AppError, asAppError } from '../../../errors/app-error.js';
import type { AppContext, AppState } from '../../context.js';
import { NAME_CONTROL_METHODS, type NameControlEvidence, type RequestStatus } from '../../../../ca/records.js';
import type { SubmitInput } from '../../../certificates/registration-authority.js';
import { sendPage } from '../../views/html.js';
import { at } from '../admin-messages.js';
import { requestPage, requestsPage, type RequestFormValues } from '../views/request-pages.js';
import { can, endEntityProfiles, redirect, UUID, type AdminConsole, type Officer } from '../admin-console.js';
import { confirmed, parseForm, readForm, readUpload, steppedUp, trimmed } from '../admin-forms.js';

type Holder = NonNullable<SubmitInput['holder']>;

const REQUEST_STATUSES: readonly RequestStatus[] = ['pending', 'approved', 'issued', 'rejected'];
const UID_TYPES = ['CCCD', 'CMND', 'HC', 'MST', 'MNS'];

/** The request form as typed (every field trimmed); the CSR is a file or pasted PEM. */
const RequestFields = z.object({ profile: trimmed, csrPem: trimmed, cn: trimmed, uidType: trimmed, uidValue: trimmed, o: trimmed, ou: trimmed, l: trimmed, email: trimmed });
/** The holder's identifier type (CCCD when none is chosen). */
const HolderFields = z.object({ uidType: trimmed.refine((t) => !t || UID_TYPES.includes(t), 'unknown identifier type') });
/** The name-control fields of the approve form (`ncName<i>`, `ncMethod<i>`, `ncEvidence<i>`); the RA checks them. */
function nameControlOf(form: URLSearchParams): NameControlEvidence[] {
  const evidence: NameControlEvidence[] = [];
  for (let i = 0; i < 50 && form.has(`ncName${i}`); i++) {
    const method = form.get(`ncMethod${i}`) ?? '';
    if (!(NAME_CONTROL_METHODS as readonly string[]).includes(method)) throw new AppError('validationFailed', `name-control: unknown method "${method}"`);
    evidence.push({ name: form.get(`ncName${i}`)!, method: method as NameControlEvidence['method'], evidence: (form.get(`ncEvidence${i}`) ?? '').slice(0, 2000) });
  }
  return evidence;
}

const RejectForm = z.object({
  reason: z
    .string()
    .default('')
    .transform((s) => s.slice(0, 1000)),
});

const isRequestStatus = (s: unknown): s is RequestStatus => typeof s === 'string' && (REQUEST_STATUSES as readonly string[]).includes(s);

/** The list with the request form; a refused request is shown with what was typed. */
async function renderRequests(c: AdminConsole, ctx: AppContext, o: Officer, extra: { status?: number; error?: string; values?: RequestFormValues } = {}) {
  const nameOf = c.names();
  const status = isRequestStatus(ctx.query.status) ? ctx.query.status : undefined;
  const rows = await c.deps.certificates.ra.list(status, 100);
  const { subjectOf, shown } = c.requestSubjects(rows, o);
  await c.recordShown(o, { requests: shown });
  sendPage(
    ctx,
    extra.status ?? 200,
    requestsPage(c.frame(ctx, o, 'requests', { error: extra.error }), {
      rows: await Promise.all(rows.map(async (r) => ({ id: r.id, subject: subjectOf(r), profile: r.profileId, requestedBy: await nameOf(r.requestedBy), createdAt: r.createdAt, approvals: r.approvals.length, required: r.approvalsRequired, status: r.status }))),
      status,
      profiles: endEntityProfiles(c),
      canRequest: can(o, 'request'),
      values: extra.values ?? {},
    }),
  );
}

/** The holder data the officer vouches for (they replace what the CSR says), or none. */
function holderOf(v: z.output<typeof RequestFields>): Holder | undefined {
  const subject: NonNullable<Holder['subject']> = {};
  if (v.cn) subject.CN = v.cn;
  if (v.o) subject.O = v.o;
  if (v.ou) subject.OU = [v.ou];
  if (v.l) subject.L = v.l;
  if (v.uidValue) subject.UID = [`${v.uidType || 'CCCD'}:${v.uidValue}`];
  const named = Object.keys(subject).length > 0;
  return named || v.email ? { subject: named ? { C: 'VN', ...subject } : undefined, emails: v.email ? [v.email] : undefined } : undefined;
}

const submitRequest = (c: AdminConsole) =>
  async function submitRequest(ctx: AppContext, o: Officer) {
    const { fields, files } = await readUpload(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/requests')) return;
    const values = parseForm(RequestFields, fields);
    const file = files.get('csrFile');
    const csr: string | Uint8Array | null = file?.length ? new Uint8Array(file) : values.csrPem ? values.csrPem : null;
    // A refused request is shown on the form it came from, with what was typed; nothing is stored.
    const fail = (error: string, status = 400) => renderRequests(c, ctx, o, { status, error, values });
    if (!csr) return fail(at(o.lang, 'error.csrMissing'));
    let outcome;
    try {
      parseForm(HolderFields, fields);
      outcome = await c.deps.certificates.ra.submit(o.actor, { csr, profileId: values.profile || 'official-signing', holder: holderOf(values) });
    } catch (err) {
      const refused = asAppError(err);
      if (refused && refused.status < 500) return fail(refused.detail, refused.status);
      throw err;
    }
    if (outcome.issued) return redirect(ctx, `/admin/certificates/${outcome.issued.serial}?done=issued`);
    redirect(ctx, `/admin/requests/${outcome.request.id}?done=requested`);
  };

async function requestParam(c: AdminConsole, ctx: AppContext) {
  const id = String(ctx.params.id ?? '');
  if (!UUID.test(id)) throw new AppError('notFound', `no certificate request ${id}`);
  return c.deps.certificates.ra.get(id);
}

const showRequest = (c: AdminConsole) =>
  async function showRequest(ctx: AppContext, o: Officer) {
    const r = await requestParam(c, ctx);
    const nameOf = c.names();
    const { subjectOf, shown } = c.requestSubjects([r], o);
    const detail = {
      id: r.id,
      subject: subjectOf(r),
      profile: r.profileId,
      status: r.status,
      requestedBy: await nameOf(r.requestedBy),
      createdAt: r.createdAt,
      required: r.approvalsRequired,
      approvals: await Promise.all(r.approvals.map(async (a) => ({ name: await nameOf(a.approver), at: a.approvedAt }))),
      rejectReason: r.rejectReason,
      certificateSerial: r.certificateSerial,
      ownRequest: r.requestedBy === o.actor,
      approvedByMe: r.approvals.some((a) => a.approver === o.actor),
      dnsNames: ((r.holder as { dnsNames?: string[] }).dnsNames ?? []).slice(0, 50),
      history: await c.auditRows(await c.deps.audit.list({ target: `request:${r.id}`, limit: 100 }), nameOf, o, { requests: shown }),
    };
    sendPage(ctx, 200, requestPage(c.frame(ctx, o, 'requests'), detail, { canApprove: can(o, 'approve') }));
  };

/** An approval (dual control: never the requester); the last one issues the certificate. */
const approveRequest = (c: AdminConsole) =>
  async function approveRequest(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    const r = await requestParam(c, ctx);
    if (!steppedUp(ctx, o, `/admin/requests/${r.id}`)) return;
    confirmed(o, form);
    const outcome = await c.deps.certificates.ra.approve(o.actor, r.id, nameControlOf(form));
    redirect(ctx, outcome.issued ? `/admin/certificates/${outcome.issued.serial}?done=issued` : `/admin/requests/${r.id}?done=approved`);
  };

const rejectRequest = (c: AdminConsole) =>
  async function rejectRequest(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    const r = await requestParam(c, ctx);
    if (!steppedUp(ctx, o, `/admin/requests/${r.id}`)) return;
    await c.deps.certificates.ra.reject(o.actor, r.id, parseForm(RejectForm, form).reason);
    redirect(ctx, `/admin/requests/${r.id}?done=rejected`);
  };

/** The requests, with the request form. */
const showRequests = (c: AdminConsole) =>
  function showRequests(ctx: AppContext, o: Officer) {
    return renderRequests(c, ctx, o);
  };

/** Certificate requests: the CSR upload, the list, one request, and its approval or rejection. */
export function requestsSection(router: Router<AppState>, c: AdminConsole): void {
  router.get('/admin/requests', c.page('read', 'requests', showRequests(c)));
  router.post('/admin/requests', c.page('request', 'requests', submitRequest(c)));
  router.get('/admin/requests/:id', c.page('read', 'requests', showRequest(c)));
  router.post('/admin/requests/:id/approve', c.page('approve', 'requests', approveRequest(c)));
  router.post('/admin/requests/:id/reject', c.page('approve', 'requests', rejectRequest(c)));
}
