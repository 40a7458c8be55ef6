import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

/**
 * The import graph of the production code: every relative import (static, `import type`,
 * `export … from`, dynamic `import()`), read with TypeScript's own pre-processor, resolved to a
 * repository path. Used by the architecture tests; a type-only import counts as a dependency too.
 */
export interface ImportGraph {
  files: string[];
  edges: Map<string, Set<string>>;
}

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(root, path));
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function resolveImport(root: string, from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = normalize(join(dirname(from), specifier));
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(join(root, candidate)) && /\.(ts|js)$/.test(candidate)) return candidate;
  }
  return null;
}

export function importGraph(root: string, folders: string[]): ImportGraph {
  const files = folders.flatMap((f) => sourceFiles(root, f));
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets = new Set<string>();
    for (const imported of info.importedFiles) {
      const target = resolveImport(root, file, imported.fileName);
      if (target) targets.add(target);
    }
    edges.set(file, targets);
  }
  return { files, edges };
}

/** Strongly connected components with more than one member (Tarjan): the import cycles. */
export function cycles(nodes: Iterable<string>, edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indices = new Map<string, number>();
  const lowlink = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    lowlink.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        lowlink.set(v, Math.min(lowlink.get(v)!, lowlink.get(w)!));
      } else if (onStack.has(w)) lowlink.set(v, Math.min(lowlink.get(v)!, indices.get(w)!));
    }
    if (lowlink.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges.get(v)?.has(v)) found.push(component.sort());
    }
  };
  for (const v of nodes) if (!indices.has(v)) visit(v);
  return found;
}

/** The graph between groups of files (`group` names a file's folder), self-edges dropped. */
export function groupGraph(graph: ImportGraph, group: (file: string) => string | null): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [from, targets] of graph.edges) {
    const a = group(from);
    if (a === null) continue;
    if (!out.has(a)) out.set(a, new Set());
    for (const to of targets) {
      const b = group(to);
      if (b !== null && b !== a) out.get(a)!.add(b);
    }
  }
  return out;
}

export const repoRelative = (root: string, path: string) => relative(root, path);
