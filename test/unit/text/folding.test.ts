import { describe, expect, it } from '@jest/globals';
import { containsPattern, foldOptional, foldText, prefixPattern, registrySearchText } from '../../../src/text/folding.js';

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
});
