import { createHash } from 'node:crypto';

/**
 * The audit log is a hash chain: hash(n) = SHA-256(hash(n-1) ‖ canonical JSON of event n),
 * with 32 zero bytes before the first event. Any edit changes that event's hash; a deletion or
 * a reordering breaks the link or the sequence. Pure functions: no I/O, no clock.
 */
export interface AuditEventInput {
  /** Who did it: `user:<id>`, `client:<id>`, `cli:<os user>`, `system`. */
  actor: string;
  /** Dotted verb: `certificate.revoke`, `service.start`, … */
  action: string;
  /** What it was done to: `certificate:<serial>`, `client:<id>`, or null. */
  target?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEvent {
  seq: number;
  occurredAt: Date;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  prevHash: Buffer;
  hash: Buffer;
}

export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/** JSON with object keys sorted at every depth, so jsonb's reordering does not change the hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const json = JSON.stringify(value);
    return json === undefined ? 'null' : json;
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function eventHash(prevHash: Buffer, event: Omit<AuditEvent, 'prevHash' | 'hash'>): Buffer {
  const body = canonicalJson({
    seq: event.seq,
    occurredAt: event.occurredAt.toISOString(),
    actor: event.actor,
    action: event.action,
    target: event.target,
    details: event.details,
  });
  return createHash('sha256').update(prevHash).update(body, 'utf8').digest();
}

/**
 * The canonical JSON that eventHash hashes, around the event's sequence number: `head` ‖ seq ‖
 * `tail` (decimal digits between them, as JSON.stringify writes an integer). The keys are sorted,
 * so `seq` comes after `occurredAt` and before `target`. The database's append function
 * (migrations/20261207200000_audit_append_function.ts) completes it with the sequence number it
 * assigns under the chain's lock.
 */
export function eventBodyAroundSeq(event: Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>): { head: string; tail: string } {
  const head =
    `{"action":${JSON.stringify(event.action)},"actor":${JSON.stringify(event.actor)},` +
    `"details":${canonicalJson(event.details)},"occurredAt":${JSON.stringify(event.occurredAt.toISOString())},"seq":`;
  return { head, tail: `,"target":${canonicalJson(event.target)}}` };
}

/**
 * Makes details safe to store: JSON round-trip (drops functions and undefined, turns Dates into
 * strings) so what is hashed is exactly what the database gives back.
 */
export function normaliseDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!details) return {};
  return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
}

export type ChainProblem = 'edited' | 'missing' | 'broken-link';

export interface ChainVerification {
  ok: boolean;
  /** Events read before the verdict. */
  checked: number;
  head: { seq: number; hash: string } | null;
  firstBad?: { seq: number; problem: ChainProblem; message: string };
}

/**
 * Walks events in `seq` order and names the first one that does not fit the chain. `start` is a
 * trusted event to continue from (a checkpoint's head): `events` then begin right after it.
 */
export async function verifyChain(events: AsyncIterable<AuditEvent>, start?: { seq: number; hash: Buffer }): Promise<ChainVerification> {
  let expectedSeq = (start?.seq ?? 0) + 1;
  let expectedPrev = start?.hash ?? GENESIS_HASH;
  let checked = 0;
  let head: ChainVerification['head'] = start ? { seq: start.seq, hash: start.hash.toString('hex') } : null;
  for await (const event of events) {
    checked++;
    const fail = (problem: ChainProblem, message: string): ChainVerification => ({
      ok: false,
      checked,
      head,
      firstBad: { seq: event.seq, problem, message },
    });
    if (!eventHash(event.prevHash, event).equals(event.hash)) {
      return fail('edited', `audit event #${event.seq} was changed: its content no longer matches its hash`);
    }
    if (event.seq !== expectedSeq) {
      const gap = event.seq - 1 === expectedSeq ? `#${expectedSeq} is` : `#${expectedSeq}–#${event.seq - 1} are`;
      return fail('missing', `audit event ${gap} missing before #${event.seq} (deleted or renumbered)`);
    }
    if (!event.prevHash.equals(expectedPrev)) {
      return fail(
        'broken-link',
        `audit event #${event.seq} does not follow #${event.seq - 1}: the chain was broken there ` +
          '(an earlier event was replaced with a recomputed hash, or events were reordered)',
      );
    }
    expectedSeq = event.seq + 1;
    expectedPrev = event.hash;
    head = { seq: event.seq, hash: event.hash.toString('hex') };
  }
  return { ok: true, checked, head };
}
