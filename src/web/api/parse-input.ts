import type { z } from 'zod';
import { AppError } from '../../errors/app-error.js';

/** Validates input with a zod schema; a failure is a 400 naming every problem's path. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.output<S> {
  const result = schema.safeParse(input ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({ path: i.path.join('.') || where, message: i.message }));
  throw new AppError('validationFailed', `${errors[0].path}: ${errors[0].message}`, { errors });
}
