import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { KeywardError } from '@keyward/core';
import { abortedCallError, keywardCodeFor, sanitizeVaultFailure, vaultError, VaultRequestError, vaultStatusOf } from './vault-errors.js';

const TOKEN = 'hvs.CAESIJ-canary-token-0123456789abcdef';
const VALUE = 'canary-password-9f8e7d6c5b4a';
const call = { method: 'GET', path: 'secret/data/billing/production/database' };

/** What axios rejects with: the request config (headers with the token) and the response, body included. */
function axiosLikeError(status: number | undefined, data: unknown, code?: string) {
  const config = { url: `http://vault:8200/v1/${call.path}`, headers: { 'X-Vault-Token': TOKEN }, data: JSON.stringify({ password: VALUE }) };
  return Object.assign(new Error(status ? `Request failed with status code ${status}` : 'socket hang up'), {
    isAxiosError: true,
    code,
    config,
    request: { _header: `GET /v1/${call.path} HTTP/1.1\r\nX-Vault-Token: ${TOKEN}\r\n` },
    response: status === undefined ? undefined : { status, data, headers: {}, config },
  });
}

/** What node-vault rejects with for a non-2xx answer: the body as Vault sent it. */
function nodeVaultLikeError(statusCode: number, body: unknown) {
  return Object.assign(new Error(String((body as { errors?: string[] }).errors?.[0] ?? `Status ${statusCode}`)), {
    response: { statusCode, body },
  });
}

describe('Vault errors', () => {
  it.each([
    [403, 'PERMISSION_DENIED'],
    [401, 'PERMISSION_DENIED'],
    [404, 'SECRET_NOT_FOUND'],
    [400, 'CONFIG_INVALID'],
    [405, 'CONFIG_INVALID'],
    [412, 'PROVIDER_UNAVAILABLE'],
    [429, 'PROVIDER_UNAVAILABLE'],
    [500, 'PROVIDER_UNAVAILABLE'],
    [502, 'PROVIDER_UNAVAILABLE'],
    [503, 'PROVIDER_UNAVAILABLE'],
  ] as const)('maps HTTP %d to %s', (status, code) => {
    const err = vaultError(nodeVaultLikeError(status, { errors: ['something'] }), call);
    expect(err).toBeInstanceOf(KeywardError);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(code === 'PROVIDER_UNAVAILABLE');
    expect(vaultStatusOf(err)).toBe(status);
  });

  it('maps network failures to PROVIDER_UNAVAILABLE, timeouts to PROVIDER_TIMEOUT and refused certificates to CONFIG_INVALID', () => {
    expect(vaultError(axiosLikeError(undefined, undefined, 'ECONNRESET'), call).code).toBe('PROVIDER_UNAVAILABLE');
    expect(vaultError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), call).code).toBe('PROVIDER_UNAVAILABLE');
    expect(vaultError(new Error('no code at all'), call).code).toBe('PROVIDER_UNAVAILABLE');
    expect(vaultError(axiosLikeError(undefined, undefined, 'ECONNABORTED'), call).code).toBe('PROVIDER_TIMEOUT');
    expect(vaultError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), call).code).toBe('PROVIDER_TIMEOUT');
    const tls = vaultError(Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), call);
    expect(tls.code).toBe('CONFIG_INVALID');
    expect(tls.message).toMatch(/TLS certificate was refused/);
  });

  it('says when Vault is sealed', () => {
    const err = vaultError(nodeVaultLikeError(503, { errors: ['Vault is sealed'] }), call);
    expect(err.message).toBe(`GET /v1/${call.path}: Vault is sealed (503)`);
    expect(err.retryable).toBe(true);
  });

  it('keeps only the status, the call and Vault\'s error strings: no header, config, request or body', () => {
    const thrown = [
      vaultError(axiosLikeError(403, { errors: ['1 error occurred:\n\t* permission denied\n\n'], data: { password: VALUE } }), call),
      vaultError(nodeVaultLikeError(404, { data: { data: { password: VALUE }, metadata: { version: 2 } } }), call),
      vaultError(axiosLikeError(undefined, undefined, 'ECONNRESET'), call),
    ];
    for (const err of thrown) {
      const shown = `${inspect(err, { depth: 10, showHidden: true })} ${JSON.stringify(err)} ${err.stack} ${String(err.cause)}`;
      expect(shown).not.toContain(TOKEN);
      expect(shown).not.toContain(VALUE);
      expect(err.cause).toBeInstanceOf(VaultRequestError);
    }
    expect(thrown[0]!.message).toBe(`GET /v1/${call.path}: Vault refused the request (403): 1 error occurred: * permission denied`);
    expect((thrown[0]!.cause as VaultRequestError).errors).toEqual(['1 error occurred: * permission denied']);
    expect((thrown[2]!.cause as VaultRequestError).code).toBe('ECONNRESET');
  });

  it('cuts the token out of Vault\'s messages, and bounds their number and length', () => {
    const failure = sanitizeVaultFailure(
      nodeVaultLikeError(400, { errors: [`bad token ${TOKEN}`, 'x'.repeat(1000), 'a', 'b', 'c', 'd', 'e'] }),
      call,
      [TOKEN],
    );
    expect(failure.errors[0]).toBe('bad token [redacted]');
    expect(failure.errors[1]!.length).toBeLessThanOrEqual(301);
    expect(failure.errors).toHaveLength(5);
    expect(keywardCodeFor(failure)).toBe('CONFIG_INVALID');
  });

  it('ignores a non-code `code` and says what the call was for', () => {
    const err = vaultError(Object.assign(new Error('x'), { code: `weird ${TOKEN}` }), { method: 'POST', path: 'auth/approle/login' }, { doing: 'AppRole login' });
    expect(err.message).toBe('AppRole login: POST /v1/auth/approle/login: Vault could not be reached (ENETWORK)');
    expect(inspect(err, { depth: 10 })).not.toContain(TOKEN);
  });

  it('passes KeywardErrors through, and turns an aborted call into PROVIDER_TIMEOUT unless the reason is a KeywardError', () => {
    const closed = new KeywardError('STORE_CLOSED', 'the secret store is closed');
    expect(vaultError(closed, call)).toBe(closed);
    expect(abortedCallError(closed, call)).toBe(closed);
    const timeout = abortedCallError(new DOMException('The operation timed out.', 'TimeoutError'), call);
    expect(timeout.code).toBe('PROVIDER_TIMEOUT');
    expect(timeout.message).toBe(`GET /v1/${call.path}: no answer within the time allowed`);
    expect(abortedCallError(new Error('stop'), call).code).toBe('PROVIDER_TIMEOUT');
  });
});
