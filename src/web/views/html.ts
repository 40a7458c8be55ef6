/** Minimal safe HTML templating: every interpolated value is escaped unless wrapped in raw(). */
export class Raw {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export const raw = (value: string) => new Raw(value);

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => ESCAPES[c]);

function render(value: unknown): string {
  if (value == null || value === false) return '';
  if (value instanceof Raw) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Raw(out);
}

/**
 * Pages have no inline script or style at all: styles come from /static, forms post to our own
 * origin, and the one script (the passkey ceremonies, /static/passkeys.js) is a file of our own
 * origin that calls only our own JSON endpoints. `form-action` is left out on purpose: browsers
 * apply it to the redirect that follows a login or logout form, and that redirect goes to the
 * portal's registered URI.
 */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/** Sends a rendered page: HTML, the page CSP, never cached (it may carry a session's form tokens). */
export function sendPage(ctx: { status: number; type: string; body: unknown; set(field: string, value: string): void }, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}
