/** Shared pieces of the real-peer tests: running a program, and answering a request like the responder will. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  buildBasicResponse,
  type CertStatus,
  type IssuerIndex,
  matchRequest,
  type OcspRequest,
  type OcspResponder,
  parseOcspRequest,
  type SignedOcspResponse,
} from '../../../../ca/status/ocsp/index.js';

export interface RunResult {
  code: number | null;
  /** stdout and stderr together: openssl prints its verdicts on stderr. */
  output: string;
}

export function run(program: string, args: string[]): RunResult {
  const r = spawnSync(program, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

export function readRequest(path: string): OcspRequest {
  const parsed = parseOcspRequest(readFileSync(path));
  if (!parsed.ok) throw new Error(`request at ${path} did not parse: ${parsed.reason}`);
  return parsed.request;
}

export const HOUR = 3_600_000;

/**
 * Answers a request the way the HTTP layer will: statuses by serial for the issuer that answers,
 * `unknown` for anything else; the nonce echoed. Times around the real clock, which the peers use.
 */
export async function answer(
  request: OcspRequest,
  index: IssuerIndex,
  responder: OcspResponder,
  statuses: Record<string, CertStatus>,
  options: { includeCerts?: boolean; now?: Date } = {},
): Promise<SignedOcspResponse> {
  const match = matchRequest(request, index);
  if (!match.ok) throw new Error('request names no issuer we serve');
  const now = options.now ?? new Date();
  const thisUpdate = new Date(now.getTime() - HOUR);
  const nextUpdate = new Date(now.getTime() + 24 * HOUR);
  return buildBasicResponse({
    responder,
    producedAt: now,
    nonce: request.nonce,
    includeCerts: options.includeCerts,
    responses: match.entries.map((e) => ({
      certId: e.certId,
      status: (e.served && statuses[e.certId.serialHex]) || { status: 'unknown' },
      thisUpdate,
      nextUpdate,
    })),
  });
}
