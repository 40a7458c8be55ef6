import type { Language } from '../locales/messages.js';
import { vi, type AdminMessageKey } from './admin-messages-vi.js';
import { en } from './admin-messages-en.js';

/**
 * Texts of the administration console, kept apart from the login pages' (src/web/locales) so the
 * two evolve without touching each other. Vietnamese is the default; every key exists in both
 * languages (a unit test checks). One file per language.
 */
export type { AdminMessageKey };

export const ADMIN_MESSAGES: Record<Language, Record<AdminMessageKey, string>> = { vi, en };

export function at(lang: Language, key: AdminMessageKey, vars: Record<string, string | number> = {}): string {
  return ADMIN_MESSAGES[lang][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}
