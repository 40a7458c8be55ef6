import { verifyChain, type AuditEvent, type ChainProblem, type ChainVerification } from './audit-chain.js';
import { checkpointProblem, type AuditPublicKey, type Checkpoint } from './checkpoint.js';
import { checkTimeStamp } from './checkpoint-time-stamp.js';
import type { CheckpointFileLine } from './checkpoint-sinks.js';

/**
 * `audit verify` with checkpoints (docs/audit.md): the chain must be intact AND agree with every
 * signed checkpoint kept outside the database. A chain rewritten with recomputed hashes (an edit,
 * a deletion with renumbering) is intact on its own but no longer has, at a checkpoint's
 * sequence number, the hash that was signed; a chain cut back past a checkpoint ends before it.
 */
export type AnchorProblem = ChainProblem | 'rewritten' | 'truncated' | 'bad-checkpoint';

export interface AnchoredVerification extends Omit<ChainVerification, 'firstBad'> {
  firstBad?: { seq: number; problem: AnchorProblem; message: string; line?: number };
  checkpoints: {
    source: string;
    /** Checkpoint lines whose signature (and time-stamp, if any) verified. */
    verified: number;
    timeStamped: number;
    /** The newest checkpoint that matched the chain. */
    lastAnchored: { seq: number; hash: string; at: string; timeStampedAt?: string } | null;
    /** Events after the last anchored one: the window a checkpoint does not yet cover. */
    unanchoredEvents: number;
  } | null;
}

export interface CheckpointEvidence {
  source: string;
  lines: CheckpointFileLine[];
  publicKey: AuditPublicKey;
  /** PEM certificates of the TSA(s) the auditor trusts; empty: any signer, signature checked. */
  tsaCerts: readonly string[];
}

/** Verifies every checkpoint line's signature; the first bad line is the verdict. */
function believedCheckpoints(evidence: CheckpointEvidence): { checkpoints: Checkpoint[]; timeStamped: number; bad?: AnchoredVerification['firstBad'] } {
  const checkpoints: Checkpoint[] = [];
  let timeStamped = 0;
  for (const { line, checkpoint, error } of evidence.lines) {
    const bad = (seq: number, why: string) => ({ checkpoints, timeStamped, bad: { seq, line, problem: 'bad-checkpoint' as const, message: `checkpoint on line ${line} of ${evidence.source} is not valid: ${why}` } });
    if (!checkpoint) return bad(0, error ?? 'unreadable');
    const problem = checkpointProblem(checkpoint, evidence.publicKey);
    if (problem) return bad(checkpoint.seq, problem);
    if (checkpoint.tsa) {
      const stamp = checkTimeStamp(Buffer.from(checkpoint.tsa.token, 'base64'), checkpoint, evidence.tsaCerts);
      if (stamp.problem) return bad(checkpoint.seq, `its time-stamp does not check: ${stamp.problem}`);
      timeStamped++;
    }
    checkpoints.push(checkpoint);
  }
  return { checkpoints, timeStamped };
}

export async function verifyWithCheckpoints(events: AsyncIterable<AuditEvent>, evidence: CheckpointEvidence): Promise<AnchoredVerification> {
  const believed = believedCheckpoints(evidence);
  const bySeq = new Map<number, Checkpoint[]>();
  for (const c of believed.checkpoints) bySeq.set(c.seq, [...(bySeq.get(c.seq) ?? []), c]);
  let mismatch: AnchoredVerification['firstBad'];
  let lastAnchored: Checkpoint | null = null;
  async function* watched(): AsyncGenerator<AuditEvent> {
    for await (const event of events) {
      for (const c of bySeq.get(event.seq) ?? []) {
        if (c.hash !== event.hash.toString('hex')) {
          mismatch ??= {
            seq: event.seq,
            problem: 'rewritten',
            message:
              `audit event #${event.seq} is not the event the checkpoint of ${c.at} signed: the log up to #${event.seq} was rewritten ` +
              '(an event edited, deleted or renumbered and the hashes recomputed)',
          };
        } else if (!lastAnchored || c.seq >= lastAnchored.seq) lastAnchored = c;
      }
      yield event;
    }
  }
  const chain = await verifyChain(watched());
  const headSeq = chain.head?.seq ?? 0;
  const beyond = believed.checkpoints.filter((c) => c.seq > headSeq).sort((a, b) => a.seq - b.seq)[0];
  const anchored = lastAnchored as Checkpoint | null;
  const summary: AnchoredVerification['checkpoints'] = {
    source: evidence.source,
    verified: believed.checkpoints.length,
    timeStamped: believed.timeStamped,
    lastAnchored: anchored ? { seq: anchored.seq, hash: anchored.hash, at: anchored.at, ...(anchored.tsa && { timeStampedAt: anchored.tsa.genTime }) } : null,
    unanchoredEvents: headSeq - (anchored?.seq ?? 0),
  };
  const result = (firstBad?: AnchoredVerification['firstBad']): AnchoredVerification => ({ ...chain, ok: !firstBad, firstBad, checkpoints: summary });
  if (believed.bad) return result(believed.bad);
  if (!chain.ok) return result(chain.firstBad);
  if (mismatch) return result(mismatch);
  if (beyond) {
    return result({
      seq: beyond.seq,
      problem: 'truncated',
      message:
        `the log ends at #${headSeq} but the checkpoint of ${beyond.at} signed #${beyond.seq}: events were removed ` +
        `(the tail cut back past the checkpoint, or events deleted and the rest renumbered)`,
    });
  }
  return result();
}
