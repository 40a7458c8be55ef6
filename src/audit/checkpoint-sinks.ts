import { createSocket } from 'node:dgram';
import { mkdir, open, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { checkpointLine, parseCheckpoint, type Checkpoint } from './checkpoint.js';

/**
 * Where checkpoints go, all outside the database (docs/audit.md): an append-only file (meant for
 * another volume or host), remote syslog (RFC 5424), or both. A sink that fails makes the run
 * fail, so the next run signs again rather than silently leaving a gap.
 */
export interface CheckpointSink {
  /** For logs and errors: `file:/var/lib/…`, `syslog:udp://…`. */
  readonly name: string;
  send(checkpoint: Checkpoint): Promise<void>;
}

/** One JSON line per checkpoint, appended (O_APPEND) and flushed to disk before the run counts. */
export class FileCheckpointSink implements CheckpointSink {
  readonly name: string;
  constructor(readonly path: string) {
    this.name = `file:${path}`;
  }

  async send(checkpoint: Checkpoint): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const file = await open(this.path, 'a', 0o640);
    try {
      await file.appendFile(`${checkpointLine(checkpoint)}\n`, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
  }
}

export interface CheckpointFileLine {
  line: number;
  checkpoint?: Checkpoint;
  error?: string;
}

/** Reads a checkpoint file (or a syslog extract of it: anything before the first `{` is skipped). */
export async function readCheckpointFile(path: string): Promise<CheckpointFileLine[]> {
  const text = await readFile(path, 'utf8');
  const lines: CheckpointFileLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const start = raw.indexOf('{');
    if (!raw.trim()) return;
    try {
      if (start < 0) throw new Error('no JSON record on the line');
      lines.push({ line: i + 1, checkpoint: parseCheckpoint(raw.slice(start)) });
    } catch (err) {
      lines.push({ line: i + 1, error: (err as Error).message });
    }
  });
  return lines;
}

/** RFC 5424 §6.3.3: `"`, `\` and `]` are escaped inside a PARAM-VALUE. */
const sdValue = (v: string | number) => String(v).replace(/["\\\]]/g, (c) => `\\${c}`);

/** The RFC 5424 record of a checkpoint: facility 13 (log audit), severity 5 (notice). */
export function syslogRecord(checkpoint: Checkpoint, host = hostname(), pid = process.pid): string {
  const pri = 13 * 8 + 5;
  // SD-ID with the documentation enterprise number of RFC 5612 (32473): the parameters repeat the
  // line's anchor so a collector can index them; the MSG is the checkpoint line itself.
  const sd = `[checkpoint@32473 seq="${sdValue(checkpoint.seq)}" hash="${sdValue(checkpoint.hash)}" at="${sdValue(checkpoint.at)}" keyId="${sdValue(checkpoint.keyId)}"]`;
  const safeHost = host.replace(/[^\x21-\x7a|~]/g, '').slice(0, 255) || '-';
  return `<${pri}>1 ${checkpoint.at} ${safeHost} tinnhiem ${pid} audit-checkpoint ${sd} ${checkpointLine(checkpoint)}`;
}

const UDP_RECORD_BYTES = 2048;

/** Remote syslog over UDP (RFC 5426: one record per datagram) or TCP (RFC 6587 §3.4.1 octet counting). */
export class SyslogCheckpointSink implements CheckpointSink {
  readonly name: string;
  private readonly target: { protocol: 'udp' | 'tcp'; host: string; port: number };

  constructor(url: string, private readonly timeoutMs: number) {
    this.name = `syslog:${url}`;
    this.target = parseSyslogUrl(url);
  }

  send(checkpoint: Checkpoint): Promise<void> {
    let record = Buffer.from(syslogRecord(checkpoint), 'utf8');
    if (this.target.protocol === 'tcp') return this.sendTcp(record);
    // RFC 5426 §3.2: receivers SHOULD take 2048 octets. The time-stamp token (outside the signed
    // part, and kept in the file) is left out of a datagram that would be larger.
    if (record.length > UDP_RECORD_BYTES && checkpoint.tsa) record = Buffer.from(syslogRecord({ ...checkpoint, tsa: undefined }), 'utf8');
    return this.sendUdp(record);
  }

  private sendUdp(record: Buffer): Promise<void> {
    const { host, port } = this.target;
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    return new Promise<void>((resolve, reject) => {
      socket.send(record, port, host, (err) => (err ? reject(err) : resolve()));
    }).finally(() => socket.close());
  }

  private sendTcp(record: Buffer): Promise<void> {
    const { host, port } = this.target;
    return new Promise<void>((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`syslog ${host}:${port} did not accept the record in ${this.timeoutMs} ms`)));
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.end(Buffer.concat([Buffer.from(`${record.length} `), record]), () => resolve());
      });
    });
  }
}

export function parseSyslogUrl(url: string): { protocol: 'udp' | 'tcp'; host: string; port: number } {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed || !/^(udp|tcp):$/.test(parsed.protocol) || !parsed.hostname) throw new Error(`"${url}" is not udp://host[:port] or tcp://host[:port]`);
  const protocol = parsed.protocol === 'udp:' ? 'udp' : 'tcp';
  return { protocol, host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port ? Number(parsed.port) : protocol === 'udp' ? 514 : 601 };
}
