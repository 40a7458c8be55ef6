import type { SigningKey } from '../../ca/keys/key-store.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Logger } from '../logging/logger.js';
import { verifyChain, type AuditEvent } from './audit-chain.js';
import { signCheckpoint, type Checkpoint } from './checkpoint.js';
import type { CheckpointSink } from './checkpoint-sinks.js';
import { timeStampCheckpoint } from './checkpoint-time-stamp.js';

/** What the checkpointer needs from storage (AuditCheckpointRepository implements it). */
export interface CheckpointStore {
  /** Takes or renews the checkpoint lease for `holder`; false while another node holds it. */
  tryLease(holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(holder: string): Promise<void>;
  /** The newest event's sequence number (0: none). */
  headSeq(): Promise<number>;
  /** The newest checkpoint this installation recorded (for scheduling; never trusted by `audit verify`). */
  lastCheckpoint(): Promise<{ seq: number; hash: string; at: Date } | null>;
  /** The event `seq`, or null. */
  event(seq: number): Promise<AuditEvent | null>;
  /** Events after `seq`, in order. */
  eventsAfter(seq: number): AsyncIterable<AuditEvent>;
  record(checkpoint: Checkpoint): Promise<void>;
}

export interface CheckpointerOptions {
  store: CheckpointStore;
  /** The audit key, loaded from the key store (file or PKCS#11), never from the database. */
  key: () => Promise<SigningKey>;
  sinks: readonly CheckpointSink[];
  tsa?: { url: string; timeoutMs: number };
  clock: Clock;
  log: Logger;
  /** This node's name as the lease holder. */
  nodeId: string;
  everyEvents: number;
  everyMs: number;
  leaseMs: number;
}

export class CheckpointRefused extends Error {}

/**
 * Every N events or M minutes, one node (the lease holder) signs the chain's head and sends the
 * checkpoint to every sink. Before signing it checks that the chain since the last checkpoint
 * still starts at that checkpoint's hash and links without a break: a node never anchors a log
 * that was already rewritten.
 */
export class AuditCheckpointer {
  private running: Promise<Checkpoint | null> | null = null;

  constructor(private readonly o: CheckpointerOptions) {}

  /** One run; `force` signs even when no checkpoint is due (`tinnhiem audit checkpoint`). A run still going (a slow TSA) is not doubled. */
  runOnce(options: { force?: boolean } = {}): Promise<Checkpoint | null> {
    if (this.running) return this.running.then(() => null, () => null);
    const run = (this.running = this.run(options).finally(() => (this.running = null)));
    return run;
  }

  private async run(options: { force?: boolean }): Promise<Checkpoint | null> {
    const { store, clock } = this.o;
    if (!(await store.tryLease(this.o.nodeId, this.o.leaseMs))) return null;
    const last = await store.lastCheckpoint();
    const headSeq = await store.headSeq();
    if (!headSeq) return null;
    const now = clock.now();
    const due = !last || headSeq - last.seq >= this.o.everyEvents || (headSeq > last.seq && now.getTime() - last.at.getTime() >= this.o.everyMs);
    if (!due && !options.force) return null;
    const head = (await this.verifiedHead(last))!;
    let checkpoint = await signCheckpoint(await this.o.key(), head, now);
    if (this.o.tsa) {
      const { token, genTime } = await timeStampCheckpoint(this.o.tsa.url, checkpoint, this.o.tsa.timeoutMs);
      checkpoint = { ...checkpoint, tsa: { token: token.toString('base64'), url: this.o.tsa.url, genTime: genTime.toISOString() } };
    }
    const failures: string[] = [];
    for (const sink of this.o.sinks) {
      await sink.send(checkpoint).catch((err: unknown) => failures.push(`${sink.name}: ${(err as Error).message}`));
    }
    // Recorded only when every sink has it, so a failed sink is retried by the next run.
    if (failures.length) throw new Error(`audit checkpoint #${head.seq} not delivered to ${failures.join('; ')}`);
    await store.record(checkpoint);
    this.o.log.info({ seq: checkpoint.seq, hash: checkpoint.hash, sinks: this.o.sinks.map((s) => s.name), timeStamped: !!checkpoint.tsa }, 'audit checkpoint signed');
    return checkpoint;
  }

  /** The head to sign, after checking the chain from the last checkpoint (or from the start). */
  private async verifiedHead(last: { seq: number; hash: string } | null): Promise<{ seq: number; hash: string } | null> {
    const { store } = this.o;
    let start: { seq: number; hash: Buffer } | undefined;
    if (last) {
      const anchor = await store.event(last.seq);
      if (!anchor || anchor.hash.toString('hex') !== last.hash) {
        throw new CheckpointRefused(
          `audit event #${last.seq} ${anchor ? 'no longer has the hash' : 'is gone, though'} the last checkpoint signed: the log was rewritten or truncated; not signing (run \`tinnhiem audit verify\`)`,
        );
      }
      start = { seq: anchor.seq, hash: anchor.hash };
    }
    const chain = await verifyChain(store.eventsAfter(last?.seq ?? 0), start);
    if (!chain.ok) throw new CheckpointRefused(`not signing a broken audit chain: ${chain.firstBad!.message}`);
    return chain.head;
  }

  async close(): Promise<void> {
    await this.o.store.releaseLease(this.o.nodeId).catch(() => undefined);
  }
}
