import Router from '@koa/router';
import type { AppContext, AppState } from '../context.js';
import { readBody, requireContentType } from '../middleware/koa-body-limits.js';
import type { OcspHttpAnswer } from '../../ocsp/ocsp-responder.js';

/** What the router needs from the responder (src/ocsp/ocsp-responder.ts). */
export interface OcspAnswering {
  answerPost(body: Uint8Array): Promise<OcspHttpAnswer>;
  /** The raw path after `/ocsp/`, percent-encoding and slashes as received. */
  answerGet(path: string): Promise<OcspHttpAnswer>;
  /** The same answers when they are in memory, synchronously (undefined: use the async ones). */
  answerPostFromMemory(body: Uint8Array): OcspHttpAnswer | undefined;
  answerGetFromMemory(path: string): OcspHttpAnswer | undefined;
}

/** RFC 6960 appendix A.1 / RFC 5019 §5: requests are small; 64 KiB leaves room for many CertIDs. */
export const OCSP_MAX_REQUEST_BYTES = 64 * 1024;
const PREFIX = '/ocsp/';

/**
 * The OCSP responder over HTTP (RFC 6960 appendix A, RFC 5019 §5–6). Every OCSP outcome,
 * including errors (malformedRequest, unauthorized, tryLater), is an HTTP 200 carrying an
 * `application/ocsp-response`; HTTP errors are only for what is not an OCSP request at all: a
 * body over 64 KiB (413) or of another media type (415), as problem+json.
 */
export function ocspRouter(deps: { responder: OcspAnswering }): Router<AppState> {
  const router = new Router<AppState>();

  function send(ctx: AppContext, answer: OcspHttpAnswer) {
    ctx.set(answer.headers);
    ctx.set('X-OCSP-Outcome', answer.outcome);
    if (ctx.method === 'GET' && answer.etag && ctx.get('if-none-match') === answer.etag) {
      ctx.status = 304;
      return;
    }
    ctx.status = 200;
    ctx.type = 'application/ocsp-response';
    ctx.body = answer.body;
  }

  const post = [
    requireContentType('application/ocsp-request'),
    async function ocspPost(ctx: AppContext) {
      let body: Buffer;
      try {
        body = await readBody(ctx, OCSP_MAX_REQUEST_BYTES);
      } catch (err) {
        // The rest of the refused body is still on the wire: do not reuse the connection.
        ctx.set('Connection', 'close');
        throw err;
      }
      send(ctx, await deps.responder.answerPost(body));
    },
  ];
  router.post('/ocsp', ...post);
  router.post('/ocsp/', ...post);

  router.get('/ocsp/*request', async function ocspGet(ctx) {
    // ctx.path is not percent-decoded: the decoder needs the path as sent (`%2F`, `+`, `/`).
    send(ctx, await deps.responder.answerGet(ctx.path.slice(PREFIX.length)));
  });

  return router;
}
