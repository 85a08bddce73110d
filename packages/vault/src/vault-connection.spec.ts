import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { waitFor } from '@keyward/test-support';
import { appRoleAuth } from './auth/approle.auth.js';
import { tokenAuth } from './auth/token.auth.js';
import { createVaultConnection, type VaultConnection } from './vault-connection.js';

/**
 * Just enough of Vault's token behaviour to pin the connection's own logic down: AppRole logins
 * hand out `hvs.tok-<n>`, only tokens in `valid` may read, `/v1/denied` refuses everyone.
 */
function tokenServer() {
  const state = {
    logins: 0,
    renewals: 0,
    revoked: [] as string[],
    valid: new Set<string>(),
    loginTtl: 60,
    renewTtl: 60,
    namespaces: new Set<string | undefined>(),
    calls: [] as { path: string; token: string | undefined; status: number }[],
  };
  const server = http.createServer((req, res) => {
    const token = req.headers['x-vault-token'] as string | undefined;
    state.namespaces.add(req.headers['x-vault-namespace'] as string | undefined);
    const answer = (status: number, body?: unknown) => {
      state.calls.push({ path: req.url!, token, status });
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
    };
    req.resume();
    req.on('end', () => {
      if (req.url === '/v1/auth/approle/login') {
        const issued = `hvs.tok-${++state.logins}`;
        state.valid.add(issued);
        return answer(200, { auth: { client_token: issued, lease_duration: state.loginTtl, renewable: true } });
      }
      if (req.url === '/v1/auth/token/lookup-self') return token === 'hvs.static' ? answer(200, { data: { ttl: 0, renewable: false } }) : answer(403, { errors: ['permission denied'] });
      if (!token || !(state.valid.has(token) || token === 'hvs.static')) return answer(403, { errors: ['permission denied'] });
      if (req.url === '/v1/auth/token/renew-self') {
        state.renewals++;
        if (state.renewTtl < 0) return answer(400, { errors: ['past the max TTL, cannot renew'] });
        return answer(200, { auth: { client_token: token, lease_duration: state.renewTtl, renewable: true } });
      }
      if (req.url === '/v1/auth/token/revoke-self') {
        state.revoked.push(token);
        state.valid.delete(token);
        return answer(204);
      }
      if (req.url === '/v1/denied') return answer(403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
      answer(200, { data: { ok: true } });
    });
  });
  return { server, state };
}

describe('VaultConnection', () => {
  const { server, state } = tokenServer();
  let endpoint = '';
  const open: VaultConnection[] = [];
  const connect = (options: Partial<Parameters<typeof createVaultConnection>[0]> = {}) => {
    const connection = createVaultConnection({ endpoint, auth: appRoleAuth({ roleId: 'role', secretId: 'secret-id-canary-7f3a' }), ...options });
    open.push(connection);
    return connection;
  };

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    Object.assign(state, { logins: 0, renewals: 0, revoked: [], valid: new Set(), loginTtl: 60, renewTtl: 60, namespaces: new Set(), calls: [] });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('logs in once for many concurrent first calls', async () => {
    const vault = connect();
    const answers = await Promise.all(Array.from({ length: 8 }, () => vault.request({ method: 'GET', path: 'kv/x' })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(state.logins).toBe(1);
  });

  it('answers many concurrent 403s on an expired token with ONE login and ONE retry each', async () => {
    const vault = connect();
    await vault.request({ method: 'GET', path: 'kv/x' });
    state.valid.clear(); // the token expired
    const answers = await Promise.all(Array.from({ length: 8 }, () => vault.request({ method: 'GET', path: 'kv/x' })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(state.logins).toBe(2);
    expect(state.calls.filter((c) => c.path === '/v1/kv/x' && c.status === 403)).toHaveLength(8);
    expect(state.calls.filter((c) => c.path === '/v1/kv/x' && c.status === 200)).toHaveLength(9);
  });

  it('reports PERMISSION_DENIED after the one re-login and retry, without the token anywhere in the error', async () => {
    const vault = connect();
    const err = await vault.request({ method: 'GET', path: 'denied' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PERMISSION_DENIED', message: 'GET /v1/denied: Vault refused the request (403): 1 error occurred: * permission denied' });
    expect(state.logins).toBe(2);
    expect(state.calls.filter((c) => c.path === '/v1/denied')).toHaveLength(2);
    const shown = `${inspect(err, { depth: 10, showHidden: true })} ${JSON.stringify(err)} ${inspect(vault, { depth: 10 })}`;
    expect(shown).not.toMatch(/hvs\.tok-/);
    expect(shown).not.toContain('secret-id-canary-7f3a');
  });

  it('does not retry a refused static token, and reads a token file again once', async () => {
    const vault = connect({ auth: tokenAuth({ token: 'hvs.static' }) });
    await expect(vault.request({ method: 'GET', path: 'denied' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(state.calls.filter((c) => c.path === '/v1/denied')).toHaveLength(1);

    const dir = mkdtempSync(join(tmpdir(), 'keyward-token-'));
    try {
      writeFileSync(join(dir, 'token'), 'hvs.static\n');
      const fromFile = connect({ auth: tokenAuth({ tokenFile: join(dir, 'token') }) });
      await expect(fromFile.request({ method: 'GET', path: 'denied' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      expect(state.calls.filter((c) => c.path === '/v1/denied')).toHaveLength(3);
      expect(state.calls.filter((c) => c.path === '/v1/auth/token/lookup-self')).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with renewToken: false, a static token is used at once: no lookup-self before the first reads', async () => {
    const renewing = connect({ auth: tokenAuth({ token: 'hvs.static' }) });
    await renewing.request({ method: 'GET', path: 'kv/x' });
    expect(state.calls.map((c) => c.path)).toEqual(['/v1/auth/token/lookup-self', '/v1/kv/x']);
    state.calls.length = 0;
    const notRenewing = connect({ auth: tokenAuth({ token: 'hvs.static' }), renewToken: false });
    await Promise.all([notRenewing.request({ method: 'GET', path: 'kv/x' }), notRenewing.request({ method: 'GET', path: 'kv/x' })]);
    expect(state.calls.map((c) => [c.path, c.token])).toEqual([['/v1/kv/x', 'hvs.static'], ['/v1/kv/x', 'hvs.static']]);
  });

  it('renews the token at about 2/3 of its TTL and logs in again when the renewal comes back short', async () => {
    state.loginTtl = 1;
    state.renewTtl = 0; // max TTL reached
    const vault = connect();
    const events: string[] = [];
    vault.on('login', (e) => events.push(`login ${e.method} ${e.ttlMs}`));
    vault.on('tokenRenewed', (e) => events.push(`renewed ${e.ttlMs}`));
    await vault.request({ method: 'GET', path: 'kv/x' });
    await waitFor(() => events.length >= 3, 3000, 'a renewal and a second login');
    expect(events.slice(0, 3)).toEqual(['login approle 1000', 'renewed 0', 'login approle 1000']);
    expect(state.renewals).toBeGreaterThanOrEqual(1);
  });

  it('logs in again, without reporting a failure, when Vault refuses a renewal past the max TTL', async () => {
    state.loginTtl = 1;
    state.renewTtl = -1; // 400 past the max TTL
    const vault = connect();
    const events: string[] = [];
    vault.on('login', () => events.push('login'));
    vault.on('authFailed', (e) => events.push(`failed ${e.during}`));
    await vault.request({ method: 'GET', path: 'kv/x' });
    await waitFor(() => events.length >= 2, 3000, 'a second login');
    expect(events.slice(0, 2)).toEqual(['login', 'login']);
    expect(state.renewals).toBeGreaterThanOrEqual(1);
  });

  it('reports a background renewal that fails for another reason, and still logs in again', async () => {
    state.loginTtl = 1;
    const vault = connect();
    const events: string[] = [];
    vault.on('login', () => events.push('login'));
    vault.on('authFailed', (e) => events.push(`failed ${e.during} ${e.error.code}`));
    await vault.request({ method: 'GET', path: 'kv/x' });
    state.valid.clear(); // the token was revoked behind our back: renew-self is refused
    await waitFor(() => events.length >= 3, 3000, 'a failed renewal and a second login');
    expect(events.slice(0, 3)).toEqual(['login', 'failed renewal PERMISSION_DENIED', 'login']);
  });

  it('keeps a login good when a listener throws, reporting the throw as a warning', async () => {
    const vault = connect();
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      vault.on('login', () => {
        throw new Error('listener bug');
      });
      expect((await vault.request({ method: 'GET', path: 'kv/x' })).status).toBe(200);
      expect(emitWarning).toHaveBeenCalledWith("a 'login' listener of the Vault connection threw", expect.objectContaining({ code: 'KEYWARD_LISTENER_ERROR' }));
    } finally {
      emitWarning.mockRestore();
    }
  });

  it('sends the namespace on every call, logins included', async () => {
    const vault = connect({ namespace: 'team-a/billing' });
    await vault.request({ method: 'GET', path: 'kv/x' });
    expect([...state.namespaces]).toEqual(['team-a/billing']);
  });

  it('stops renewing on close, revokes its own token when asked, and refuses calls afterwards', async () => {
    state.loginTtl = 1;
    const vault = connect({ revokeTokenOnClose: true });
    await vault.request({ method: 'GET', path: 'kv/x' });
    await vault.close();
    await vault.close();
    expect(state.revoked).toEqual(['hvs.tok-1']);
    await new Promise((r) => setTimeout(r, 800));
    expect(state.renewals).toBe(0);
    await expect(vault.request({ method: 'GET', path: 'kv/x' })).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
  });

  it('refuses a configuration without an endpoint or auth', () => {
    const saved = process.env['VAULT_ADDR'];
    delete process.env['VAULT_ADDR'];
    try {
      expect(() => createVaultConnection({ auth: tokenAuth({ token: 'x' }) })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
      expect(() => createVaultConnection({ endpoint: 'vault:8200', auth: tokenAuth({ token: 'x' }) })).toThrow(/http\(s\) URL/);
      expect(() => createVaultConnection({ endpoint } as never)).toThrow(/needs `auth`/);
    } finally {
      if (saved !== undefined) process.env['VAULT_ADDR'] = saved;
    }
  });
});
