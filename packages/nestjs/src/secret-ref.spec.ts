import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { format, inspect } from 'node:util';
import { envProvider, SecretStore, type SecretAccessEvent } from '@keyward/core';
import { SecretRef } from './secret-ref.js';

const CANARY = `canary-${randomBytes(8).toString('hex')}`;

async function startStore(env: Record<string, string>, accesses: SecretAccessEvent[] = []): Promise<SecretStore> {
  const store = new SecretStore({
    app: 'billing',
    environment: 'test',
    providers: { test: envProvider({ env }) },
    secrets: { apiToken: {}, sentryDsn: { required: false } },
    refresh: false,
    onAccess: (event) => accesses.push(event),
  });
  return store.start();
}

describe('SecretRef', () => {
  it('shows a redacted form in every printable way', async () => {
    const store = await startStore({ API_TOKEN: CANARY });
    const ref = new SecretRef<string>(store, 'apiToken');
    const printed = [
      String(ref),
      `${ref}`,
      JSON.stringify({ ref }),
      inspect(ref),
      inspect({ deep: [ref] }, { depth: 10, showHidden: true }),
      format('%s %o %O %j', ref, ref, ref, ref),
      JSON.stringify(Object.entries(ref)),
    ];
    for (const text of printed) expect(text).not.toContain(CANARY);
    expect(JSON.stringify(ref)).toBe('"[secret ref apiToken]"');
    expect(ref.reveal()).toBe(CANARY);
    await store.close();
  });

  it('reads the current value on every call, so a rotation is seen at once', async () => {
    const env = { API_TOKEN: 'first' };
    const store = await startStore(env);
    const ref = new SecretRef<string>(store, 'apiToken');
    expect(ref.get().version).toBe('v1');
    env.API_TOKEN = 'second';
    await store.refresh('apiToken');
    expect(ref.reveal()).toBe('second');
    expect(ref.get().version).toBe('v2');
    await store.close();
  });

  it('counts every read as an access, so the audit trail sees each use', async () => {
    const accesses: SecretAccessEvent[] = [];
    const store = await startStore({ API_TOKEN: 'token' }, accesses);
    const ref = new SecretRef<string>(store, 'apiToken');
    ref.reveal();
    ref.get();
    ref.has();
    expect(accesses.map((a) => a.name)).toEqual(['apiToken', 'apiToken']);
    await store.close();
  });

  it('refuses a name the store does not declare', async () => {
    const store = await startStore({ API_TOKEN: 'token' });
    expect(() => new SecretRef(store, 'stripeKey')).toThrow(expect.objectContaining({ code: 'SECRET_NOT_DECLARED', secret: 'stripeKey' }));
    await store.close();
  });

  it('says an optional secret has no value instead of returning undefined', async () => {
    const store = await startStore({ API_TOKEN: 'token' });
    const ref = new SecretRef(store, 'sentryDsn');
    expect(ref.has()).toBe(false);
    expect(() => ref.get()).toThrow(expect.objectContaining({ code: 'SECRET_NOT_FOUND', secret: 'sentryDsn' }));
    await store.close();
  });

  it('fails with STORE_CLOSED once the store is closed', async () => {
    const store = await startStore({ API_TOKEN: 'token' });
    const ref = new SecretRef(store, 'apiToken');
    await store.close();
    expect(() => ref.reveal()).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
  });
});
