/**
 * `node --import tsx bench/heap-diff.ts early.heapsnapshot late.heapsnapshot [--top N] [--retainers KEY] [--retained [--all]]`:
 * what grew between two V8 heap snapshots (the soak's, bench/support/service-process.ts with
 * BENCH_HEAP_SNAPSHOTS), summarised rather than guessed.
 *
 * Per constructor (node type + name, strings folded into one row per type): count and shallow
 * bytes in each snapshot and the difference, largest growth first. Then, for the top growing
 * constructors (or NAME with --retainers), the retainer paths of the nodes present only in the
 * late snapshot (new since the early one, by node id), grouped by the chain of the first
 * non-weak retainer edges up to 6 steps (HEAP_DIFF_DEPTH), with counts and the bytes they retain
 * shallowly. With --retained: retained sizes by the dominator tree (weak edges ignored) in both
 * snapshots, matched by node id (V8 keeps ids across the snapshots of one process), and the objects
 * whose retained size grew by more than HEAP_DIFF_MIN_KIB (256), outermost first (--all: nested too).
 * Run with a large heap: `node --max-old-space-size=8000 --import tsx bench/heap-diff.ts …`.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  nodeTypes: string[];
  edgeTypes: string[];
  nodeFields: number;
  edgeFields: number;
  nodes: Int32Array | number[];
  edges: number[];
  strings: string[];
  nodeCount: number;
  /** first edge index (in edges[]) of each node */
  firstEdge: Uint32Array;
  /** retainers: for each node, list of [fromNode, edgeIndex] */
  retainers?: { start: Uint32Array; from: Uint32Array; edge: Uint32Array };
  idIndex: Map<number, number>;
}

function load(path: string): Snapshot {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const meta = raw.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  if (meta.node_fields.slice(0, 6).join() !== 'type,name,id,self_size,edge_count,trace_node_id') throw new Error(`unexpected node fields ${meta.node_fields}`);
  if (meta.edge_fields.join() !== 'type,name_or_index,to_node') throw new Error(`unexpected edge fields ${meta.edge_fields}`);
  const nodeCount = raw.nodes.length / nodeFields;
  const firstEdge = new Uint32Array(nodeCount + 1);
  const idIndex = new Map<number, number>();
  for (let i = 0, e = 0; i < nodeCount; i++) {
    firstEdge[i] = e;
    e += raw.nodes[i * nodeFields + 4] * edgeFields;
    idIndex.set(raw.nodes[i * nodeFields + 2], i);
  }
  firstEdge[nodeCount] = raw.edges.length;
  return { nodeTypes: meta.node_types[0], edgeTypes: meta.edge_types[0], nodeFields, edgeFields, nodes: raw.nodes, edges: raw.edges, strings: raw.strings, nodeCount, firstEdge, idIndex };
}

const type = (s: Snapshot, i: number) => s.nodeTypes[s.nodes[i * s.nodeFields]];
const name = (s: Snapshot, i: number) => s.strings[s.nodes[i * s.nodeFields + 1]];
const id = (s: Snapshot, i: number) => s.nodes[i * s.nodeFields + 2];
const size = (s: Snapshot, i: number) => s.nodes[i * s.nodeFields + 3];
/** One row per constructor; strings, code and arrays folded by type. */
function key(s: Snapshot, i: number): string {
  const t = type(s, i);
  if (t === 'object' || t === 'closure' || t === 'native') return `${t}:${name(s, i)}`;
  if (t === 'hidden' || t === 'array') return `${t}:${name(s, i).slice(0, 60)}`;
  return `(${t})`;
}

function summarise(s: Snapshot): Map<string, { count: number; bytes: number }> {
  const m = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodeCount; i++) {
    const k = key(s, i);
    const e = m.get(k) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += size(s, i);
    m.set(k, e);
  }
  return m;
}

function buildRetainers(s: Snapshot): NonNullable<Snapshot['retainers']> {
  const toField = 2;
  const counts = new Uint32Array(s.nodeCount + 1);
  for (let e = 0; e < s.edges.length; e += s.edgeFields) counts[s.edges[e + toField] / s.nodeFields]++;
  const start = new Uint32Array(s.nodeCount + 1);
  for (let i = 0; i < s.nodeCount; i++) start[i + 1] = start[i] + counts[i];
  const fill = start.slice();
  const from = new Uint32Array(start[s.nodeCount]);
  const edge = new Uint32Array(start[s.nodeCount]);
  for (let i = 0; i < s.nodeCount; i++) {
    for (let e = s.firstEdge[i]; e < s.firstEdge[i + 1]; e += s.edgeFields) {
      const to = s.edges[e + toField] / s.nodeFields;
      from[fill[to]] = i;
      edge[fill[to]++] = e;
    }
  }
  return { start, from, edge };
}

function edgeLabel(s: Snapshot, e: number): string {
  const t = s.edgeTypes[s.edges[e]];
  const n = s.edges[e + 1];
  if (t === 'element' || t === 'hidden') return `[${t === 'hidden' ? 'h' : ''}${n}]`.replace(/\d+/, 'i');
  const label = s.strings[n];
  // Map entries and numbered properties: one label, so paths through a table group together.
  if (/^\d+$/.test(label)) return '[#]';
  if (label.startsWith('part of key')) return '[entry]';
  return `.${label}`;
}

/** The chain of first strong retainers (skipping weak edges and the snapshot's synthetic roots), up to depth. */
function retainerPath(s: Snapshot, node: number, depth: number): string {
  const r = s.retainers!;
  const parts: string[] = [];
  const seen = new Set<number>([node]);
  let cur = node;
  for (let d = 0; d < depth; d++) {
    let next = -1;
    let label = '';
    for (let k = r.start[cur]; k < r.start[cur + 1]; k++) {
      const e = r.edge[k];
      const et = s.edgeTypes[s.edges[e]];
      if (et === 'weak' || et === 'shortcut') continue;
      const f = r.from[k];
      if (seen.has(f)) continue;
      const ft = type(s, f);
      if (ft === 'synthetic') continue;
      next = f;
      label = edgeLabel(s, e);
      break;
    }
    if (next < 0) break;
    parts.push(`${label} ← ${key(s, next)}`);
    seen.add(next);
    cur = next;
  }
  return parts.join(' ');
}

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--') && !/^\d+$/.test(a) && args[args.indexOf(a) - 1] !== '--retainers');
const top = Number(args[args.indexOf('--top') + 1] ?? 30) || 30;
const focus = args.includes('--retainers') ? args[args.indexOf('--retainers') + 1] : undefined;
const depth = Number(process.env.HEAP_DIFF_DEPTH ?? 6);
if (files.length !== 2) throw new Error('usage: heap-diff.ts early.heapsnapshot late.heapsnapshot [--top N] [--retainers KEY]');
const [a, b] = files.map(load);
const sa = summarise(a);
const sb = summarise(b);
const total = (m: Map<string, { bytes: number }>) => [...m.values()].reduce((x, y) => x + y.bytes, 0);
const mib = (n: number) => (n / 2 ** 20).toFixed(2);
process.stdout.write(`nodes ${a.nodeCount} → ${b.nodeCount}; shallow total ${mib(total(sa))} → ${mib(total(sb))} MiB (+${mib(total(sb) - total(sa))})\n\n`);
const rows = [...new Set([...sa.keys(), ...sb.keys()])].map((k) => {
  const x = sa.get(k) ?? { count: 0, bytes: 0 };
  const y = sb.get(k) ?? { count: 0, bytes: 0 };
  return { k, c0: x.count, c1: y.count, b0: x.bytes, b1: y.bytes, db: y.bytes - x.bytes, dc: y.count - x.count };
});
rows.sort((p, q) => q.db - p.db);
process.stdout.write('Δ KiB      Δ count    count early→late        KiB early→late       constructor\n');
for (const r of rows.slice(0, top)) process.stdout.write(`${(r.db / 1024).toFixed(0).padStart(8)} ${String(r.dc).padStart(10)}   ${`${r.c0}→${r.c1}`.padStart(20)}  ${`${(r.b0 / 1024).toFixed(0)}→${(r.b1 / 1024).toFixed(0)}`.padStart(20)}   ${r.k}\n`);

// Retainer paths of the nodes new in the late snapshot, for the top growing keys.
b.retainers = buildRetainers(b);
const keys = focus ? [focus] : rows.slice(0, Number(process.env.HEAP_DIFF_PATHS ?? 8)).map((r) => r.k);
for (const k of keys) {
  const paths = new Map<string, { count: number; bytes: number }>();
  let n = 0;
  for (let i = 0; i < b.nodeCount; i++) {
    if (key(b, i) !== k || a.idIndex.has(id(b, i))) continue;
    n++;
    const p = retainerPath(b, i, depth);
    const e = paths.get(p) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += size(b, i);
    paths.set(p, e);
  }
  process.stdout.write(`\n${k}: ${n} new nodes; retainer paths (first strong retainer, ${depth} steps):\n`);
  for (const [p, e] of [...paths].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, 6)) process.stdout.write(`  ${String(e.count).padStart(7)} ${`${(e.bytes / 1024).toFixed(0)} KiB`.padStart(10)}  ${p}\n`);
}

// ── retained sizes (dominator tree): which long-lived objects grew, by node id (stable across the snapshots of one process) ──
/** Retained size of every node: immediate dominators by Cooper–Harvey–Kennedy over the non-weak edges from the root (node 0). */
function retainedSizes(s: Snapshot): { retained: Float64Array; idom: Int32Array } {
  const n = s.nodeCount;
  const toField = 2;
  // Post-order DFS from the root.
  const order = new Int32Array(n).fill(-1);
  const post: number[] = [];
  const stack: number[] = [0];
  const cursor = new Uint32Array(n);
  const visited = new Uint8Array(n);
  visited[0] = 1;
  for (let i = 0; i < n; i++) cursor[i] = s.firstEdge[i];
  while (stack.length) {
    const v = stack[stack.length - 1];
    let pushed = false;
    while (cursor[v] < s.firstEdge[v + 1]) {
      const e = cursor[v];
      cursor[v] += s.edgeFields;
      if (s.edgeTypes[s.edges[e]] === 'weak') continue;
      const w = s.edges[e + toField] / s.nodeFields;
      if (visited[w]) continue;
      visited[w] = 1;
      stack.push(w);
      pushed = true;
      break;
    }
    if (!pushed) {
      stack.pop();
      order[v] = post.length;
      post.push(v);
    }
  }
  const r = s.retainers ?? (s.retainers = buildRetainers(s));
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (order[a] < order[b]) a = idom[a];
      while (order[b] < order[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = post.length - 2; k >= 0; k--) {
      const v = post[k];
      let d = -1;
      for (let j = r.start[v]; j < r.start[v + 1]; j++) {
        if (s.edgeTypes[s.edges[r.edge[j]]] === 'weak') continue;
        const p = r.from[j];
        if (order[p] < 0 || idom[p] < 0) continue;
        d = d < 0 ? p : intersect(p, d);
      }
      if (d >= 0 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(n);
  for (const v of post) retained[v] += size(s, v);
  for (const v of post) if (v !== 0 && idom[v] >= 0) retained[idom[v]] += retained[v];
  return { retained, idom };
}

if (process.argv.includes('--retained')) {
  const ra = retainedSizes(a);
  const rb = retainedSizes(b);
  const grow: Array<{ i: number; before: number; after: number }> = [];
  for (let i = 0; i < b.nodeCount; i++) {
    const t = type(b, i);
    if (t === 'synthetic' || t === 'hidden' || t === 'code' || t === 'array') continue;
    const j = a.idIndex.get(id(b, i));
    const before = j === undefined ? 0 : ra.retained[j];
    if (rb.retained[i] - before > Number(process.env.HEAP_DIFF_MIN_KIB ?? 256) * 1024) grow.push({ i, before, after: rb.retained[i] });
  }
  grow.sort((x, y) => y.after - y.before - (x.after - x.before));
  process.stdout.write(`\nObjects whose retained size grew by more than ${process.env.HEAP_DIFF_MIN_KIB ?? 256} KiB (early → late KiB, Δ), with their retainer path:\n`);
  // Only the outermost: skip a node whose dominator chain holds a node already listed.
  const listed = new Set<number>();
  for (const g of grow) {
    let d = rb.idom[g.i];
    let inner = false;
    for (let k = 0; k < 50 && d > 0; k++, d = rb.idom[d]) if (listed.has(d)) inner = true;
    listed.add(g.i);
    if (inner && !process.argv.includes('--all')) continue;
    process.stdout.write(`${`${(g.before / 1024).toFixed(0)} → ${(g.after / 1024).toFixed(0)}`.padStart(18)}  Δ ${((g.after - g.before) / 1024).toFixed(0).padStart(6)}  ${key(b, g.i)}  ${retainerPath(b, g.i, depth)}\n`);
  }
}
