import { describe, expect, it } from '@jest/globals';
import { compactText, containsPattern, foldOptional, foldText, prefixPattern, registrySearchText, wordJoins } from '../../../src/text/folding.js';

describe('foldText', () => {
  it('removes Vietnamese tones and vowel marks, đ as d, in NFC and NFD alike', () => {
    expect(foldText('Trần Thị Ngọc Hân')).toBe('tran thi ngoc han');
    expect(foldText('Trần Thị Ngọc Hân'.normalize('NFD'))).toBe('tran thi ngoc han');
    expect(foldText('ĐẶNG ĐÌNH ĐỨC')).toBe('dang dinh duc');
    expect(foldText('Nguyễn')).toBe(foldText('NGUYEN'));
    expect(foldText('ỦY BAN NHÂN DÂN')).toBe('uy ban nhan dan');
  });

  it('folds compatibility forms, white space and letters without decomposition', () => {
    expect(foldText('Ｎｇｕｙễｎ')).toBe('nguyen');
    expect(foldText('  Sở\tY  tế\n')).toBe('so y te');
    expect(foldText('Straße Øst')).toBe('strasse ost');
  });

  it('keeps null apart from the empty string', () => {
    expect(foldOptional(null)).toBeNull();
    expect(foldOptional('')).toBe('');
  });

  it('escapes LIKE wildcards', () => {
    expect(containsPattern('50%_a\\b')).toBe('%50\\%\\_a\\\\b%');
    expect(prefixPattern('so y te')).toBe('so y te%');
  });

  it('joins the searchable fields one per line, folded', () => {
    expect(registrySearchText({ holderName: 'Lê Văn Ánh', subjectDn: 'CN=Lê Văn Ánh,C=VN', email: null, serial: '7ABC' })).toBe('le van anh\ncn=le van anh,c=vn\n7abc');
  });

  it('finds where the words of a query join, each a substring of the query without its spaces', () => {
    expect(wordJoins('ngoc han')).toEqual(['ocha']);
    expect(wordJoins('tran thi ngoc han')).toEqual(['anth', 'hing', 'ocha']);
    // A one-letter word: the join holds what there is (three letters still make a trigram).
    expect(wordJoins('nguyen v an')).toEqual(['env', 'van']);
    // Fewer than three letters, or a character pg_trgm takes no trigram from: no join.
    expect(wordJoins('a b')).toEqual([]);
    expect(wordJoins('so-y te')).toEqual([]);
    expect(wordJoins('x. y')).toEqual([]);
    expect(wordJoins('nguyen')).toEqual([]);
    for (const q of ['tran thi ngoc han', 'nguyen v an', 'so-y te', 'le van anh 12']) {
      for (const join of wordJoins(q)) expect(compactText(q)).toContain(join);
    }
  });
});
