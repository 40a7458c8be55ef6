/**
 * The one folded form of searchable text (holder names, subject DNs, e-mail addresses, agencies):
 * what is stored beside each field and what every filter compares with (registry search, bulk
 * revocation, the console's filters). Computed here, in the application, so PostgreSQL and the
 * embedded database store and compare the same bytes: PostgreSQL's unaccent() is not immutable,
 * cannot be indexed directly, and is not in the embedded database.
 *
 * Folding: compatibility decomposition (NFKD: "Ầ" written precomposed (NFC) or as base letter
 * plus marks (NFD), and full-width forms, all give the same letters), combining marks removed
 * (Vietnamese tones and vowel marks), the letters that have no decomposition mapped (đ → d,
 * the Vietnamese one that matters; ð, ø, ł, ß and the like too), lower case, and every run of
 * white space one space, trimmed. "Trần Thị Ngọc Hân" folds to "tran thi ngoc han".
 */
const LETTERS: Readonly<Record<string, string>> = {
  đ: 'd',
  ð: 'd',
  ø: 'o',
  ł: 'l',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  þ: 'th',
  ı: 'i',
};
const LETTER_PATTERN = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');

export function foldText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(LETTER_PATTERN, (c) => LETTERS[c])
    .replace(/\s+/gu, ' ')
    .trim();
}

/** Folds a nullable field; null stays null (no value is not the empty string). */
export function foldOptional(text: string | null | undefined): string | null {
  return text == null ? null : foldText(text);
}

/** A LIKE pattern (backslash escape) that matches `folded` literally anywhere. */
export function containsPattern(folded: string): string {
  return `%${escapeLike(folded)}%`;
}

/** A LIKE pattern (backslash escape) that matches values starting with `folded`. */
export function prefixPattern(folded: string): string {
  return `${escapeLike(folded)}%`;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The registry's one searchable text of a certificate (the `search_folded` column): its holder
 * name, subject DN, e-mail address and serial, each folded, one per line (a folded query has no
 * line break, so no match spans two fields).
 */
export function registrySearchText(fields: { holderName?: string | null; subjectDn?: string | null; email?: string | null; serial?: string | null }): string {
  return [fields.holderName, fields.subjectDn, fields.email, fields.serial]
    .filter((v): v is string => typeof v === 'string' && v.length > 0)
    .map(foldText)
    .join('\n');
}

/**
 * The search text without its spaces (the `search_compact` column), and a folded query's the same:
 * a pre-filter for a query of several words. "ngoc han" asks pg_trgm for the trigrams of word
 * starts ("  h", " ha"), which most Vietnamese rows hold; "ngochan" asks for ngo, goc, och, cha,
 * han, rarer, and where the words join (wordJoins: och, cha) rarer still. A text that holds
 * "ngoc han" holds "ngochan" once its spaces are gone, so the pre-filter loses no match; the
 * folded text's own test then drops the others ("ngo chan", "ngochan@…"): the results are the same.
 */
export function compactText(folded: string): string {
  return folded.replaceAll(' ', '');
}

/**
 * Where the words of a folded query meet, without the space: the last two letters of each word and
 * the first two of the next ("ngoc han" → "ocha"), for the trigram index of the text without its
 * spaces (`search_compact`). Within a word, trigrams are common ("ngo", "han": the index reads their
 * long lists, a tenth of its time each); across the join they are as rare as the pair of words, so
 * looking up only those reads a few index pages. Every text that holds the query without its spaces
 * holds each join, so no match is lost; the folded text's own test keeps the exact matches. Only
 * joins of three or more ASCII letters and digits (what pg_trgm takes a trigram from); empty when
 * none qualifies (the caller then looks up the whole query).
 */
export function wordJoins(folded: string): string[] {
  const words = folded.split(' ').filter((w) => w.length > 0);
  const joins = new Set<string>();
  for (let i = 1; i < words.length; i++) {
    const join = words[i - 1].slice(-2) + words[i].slice(0, 2);
    if (/^[a-z0-9]{3,}$/.test(join)) joins.add(join);
  }
  return [...joins];
}
