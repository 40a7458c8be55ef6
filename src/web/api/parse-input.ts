import type { z } from 'zod';
import { AppError } from '../../errors/app-error.js';

/**
 * A NUL (PostgreSQL's text and jsonb cannot hold one) or a lone UTF-16 surrogate (no Unicode
 * character; invalid once encoded as UTF-8, and what one component writes another reads
 * differently) in any text of a request. Refused where input is parsed (JSON bodies, forms,
 * query strings) so that every field of every route is covered, not only the validated ones.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NUL = String.fromCharCode(0);
const unsafe = (text: string) => text.includes(NUL) || LONE_SURROGATE.test(text);

/** Throws a 400 naming the first field that holds a NUL or a lone surrogate. */
export function refuseUnsafeText(value: unknown, where: string): void {
  const found = unsafePath(value, where, 0);
  if (found) {
    throw new AppError('validationFailed', `${found}: contains a NUL character or a lone surrogate (not text)`, { errors: [{ path: found, message: 'contains a NUL character or a lone surrogate' }] });
  }
}

function unsafePath(value: unknown, path: string, depth: number): string | null {
  if (typeof value === 'string') return unsafe(value) ? path : null;
  if (!value || typeof value !== 'object' || depth > 64) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unsafePath(value[i], `${path}.${i}`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    if (unsafe(key)) return `${path}.${[...key].map((c) => (unsafe(c) ? '?' : c)).join('')}`;
    const found = unsafePath(item, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Validates input with a zod schema; a failure is a 400 naming every problem's path. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.output<S> {
  refuseUnsafeText(input, where);
  const result = schema.safeParse(input ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({ path: i.path.join('.') || where, message: i.message }));
  throw new AppError('validationFailed', `${errors[0].path}: ${errors[0].message}`, { errors });
}
