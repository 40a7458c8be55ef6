import { verifyChain, type AuditEvent, type ChainVerification } from './audit-chain.js';
import { verifyWithCheckpoints, type AnchoredVerification, type CheckpointEvidence } from './checkpoint-verification.js';

export interface AuditQuery {
  action?: string;
  actor?: string;
  target?: string;
  beforeSeq?: number;
  limit?: number;
}

/** What reading the audit log needs from storage (AuditRepository implements it). */
export interface AuditLogReader {
  list(filter: AuditQuery): Promise<AuditEvent[]>;
  all(): AsyncIterable<AuditEvent>;
}

export class AuditService {
  /** `checkpoints`: the configured checkpoints and audit public key (null: chain only). */
  constructor(
    private readonly reader: AuditLogReader,
    private readonly checkpoints: () => Promise<CheckpointEvidence | null> = () => Promise.resolve(null),
  ) {}

  list(query: AuditQuery): Promise<AuditEvent[]> {
    return this.reader.list(query);
  }

  /** The chain, and its agreement with the checkpoints when they are configured (docs/audit.md). */
  async verify(): Promise<ChainVerification | AnchoredVerification> {
    const evidence = await this.checkpoints();
    return evidence ? verifyWithCheckpoints(this.reader.all(), evidence) : verifyChain(this.reader.all());
  }
}
