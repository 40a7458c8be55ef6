import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { cycles, groupGraph, importGraph } from '../../support/import-graph.js';

/**
 * Issue 15: imports run one way (docs/architecture.md, "Layers"). The graph is read from the
 * sources themselves, so a new file that breaks a rule fails here with the offending edge named.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const graph = importGraph(root, ['src', 'oidc', 'ca', 'migrations']);

const topLevel = (file: string) => file.split('/')[0];
/** `src/web`, `ca/issuance`, `ca/ports`…: the second level of src/ and ca/. */
const secondLevel = (file: string) => {
  const [top, next] = file.split('/');
  return next?.endsWith('.ts') ? `${top}/${next.replace(/\.ts$/, '')}` : `${top}/${next}`;
};

/** Which top-level folder may import which: the domains (ca/, oidc/) never import the application. */
const ALLOWED_TOP_LEVEL: Record<string, string[]> = {
  src: ['oidc', 'ca', 'migrations'],
  oidc: ['ca'],
  ca: [],
  // A data migration's backfill computes what the application writes (the folded search text, a
  // revocation's CRL entry) with the application's own pure function, not a second copy of it.
  migrations: ['src', 'ca'],
};

const edgesOf = (g: Map<string, Set<string>>) => [...g].flatMap(([a, bs]) => [...bs].map((b) => `${a} → ${b}`)).sort();

describe('import graph', () => {
  it('reads the whole code base', () => {
    expect(graph.files.length).toBeGreaterThan(150);
    expect([...graph.edges.values()].reduce((n, s) => n + s.size, 0)).toBeGreaterThan(500);
  });

  it('has no import cycle between files', () => {
    expect(cycles(graph.files, graph.edges)).toEqual([]);
  });

  it('imports between top-level folders only downwards: src → oidc → ca', () => {
    const forbidden = edgesOf(groupGraph(graph, topLevel)).filter((edge) => {
      const [from, to] = edge.split(' → ');
      return !ALLOWED_TOP_LEVEL[from]?.includes(to);
    });
    expect(forbidden).toEqual([]);
  });

  it('has no cycle between the folders of src/ or of ca/', () => {
    for (const top of ['src', 'ca']) {
      const folders = groupGraph(graph, (file) => (topLevel(file) === top ? secondLevel(file) : null));
      expect({ [top]: cycles(folders.keys(), folders) }).toEqual({ [top]: [] });
    }
  });

  it('keeps the front ends away from storage and keys, and services away from the front ends', () => {
    const offending = [...graph.edges].flatMap(([from, targets]) =>
      [...targets]
        .filter((to) => {
          if (from.startsWith('src/web/')) return to.startsWith('src/storage/') || to.startsWith('ca/keys/');
          const composition = ['src/service/', 'src/cli/', 'src/dev/', 'src/web/'].some((p) => from.startsWith(p));
          return !composition && to.startsWith('src/web/');
        })
        .map((to) => `${from} → ${to}`),
    );
    expect(offending).toEqual([]);
  });

  it('detects a cycle when there is one (the checker itself)', () => {
    const edges = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(cycles(edges.keys(), edges)).toEqual([['a', 'b', 'c']]);
  });
});
