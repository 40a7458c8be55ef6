import { verifyChain, type AuditEvent, type ChainVerification } from './audit-chain.js';

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
  constructor(private readonly reader: AuditLogReader) {}

  list(query: AuditQuery): Promise<AuditEvent[]> {
    return this.reader.list(query);
  }

  verify(): Promise<ChainVerification> {
    return verifyChain(this.reader.all());
  }
}
