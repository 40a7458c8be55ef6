import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import { tokenFastPath } from '../../../src/web/token-fast-path.js';

/** Which requests the token endpoint's lean path takes (the rest go to the host application). */
describe('the token endpoint lean path: which requests it takes', () => {
  const route = (method: string, url: string, headers: Record<string, string>) => {
    let taken = '';
    const listener = tokenFastPath(
      {
        limitBytes: 1024,
        serve: async () => {
          taken = 'lean';
        },
      },
      () => {
        taken = 'host';
      },
    );
    listener({ method, url, headers } as unknown as IncomingMessage, {} as ServerResponse);
    return taken;
  };

  test('a plain POST /oidc/token with a declared length within the limit', () => {
    expect(route('POST', '/oidc/token', { 'content-length': '63' })).toBe('lean');
    expect(route('POST', '/oidc/token', { 'content-length': '1024' })).toBe('lean');
    expect(route('POST', '/oidc/token', { 'content-length': '0' })).toBe('lean');
  });

  test('anything else goes to the host application', () => {
    expect(route('POST', '/oidc/token', { 'content-length': '1025' })).toBe('host'); // its 413
    expect(route('POST', '/oidc/token', {})).toBe('host'); // no length declared
    expect(route('POST', '/oidc/token', { 'transfer-encoding': 'chunked' })).toBe('host');
    expect(route('POST', '/oidc/token', { 'content-length': '10', 'transfer-encoding': 'chunked' })).toBe('host');
    expect(route('POST', '/oidc/token', { 'content-length': '' })).toBe('host');
    expect(route('POST', '/oidc/token', { 'content-length': '1e3' })).toBe('host');
    expect(route('POST', '/oidc/token', { 'content-length': '-1' })).toBe('host');
    expect(route('POST', '/oidc/token?grant_type=client_credentials', { 'content-length': '10' })).toBe('host');
    expect(route('POST', '/oidc/token/', { 'content-length': '10' })).toBe('host');
    expect(route('POST', '/oidc/token/introspection', { 'content-length': '10' })).toBe('host');
    expect(route('POST', '/OIDC/token', { 'content-length': '10' })).toBe('host');
    expect(route('GET', '/oidc/token', {})).toBe('host');
    expect(route('PUT', '/oidc/token', { 'content-length': '10' })).toBe('host');
  });
});
