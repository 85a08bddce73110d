import { describe, expect, it } from '@jest/globals';
import { SecretStore, type Refreshable, type SecretRotatedEvent } from '@keyward/core';
import { memoryProvider, nextEvent } from '@keyward/test-support';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KeywardModule } from './keyward.module.js';
import { OnSecretRotated } from './on-secret-rotated.decorator.js';
import { refreshableProvider } from './refreshable.provider.js';

const PARTNER = Symbol('PARTNER');
const PARTNER_URL = 'PARTNER_URL';

/** What the app builds from the token: a client of the partner's API (here, its settings and whether it was closed). */
class PartnerClient {
  closed = false;
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}
}

function keyward(provider: ReturnType<typeof memoryProvider>) {
  return KeywardModule.forRoot({
    app: 'shop',
    environment: 'test',
    providers: { test: provider },
    secrets: { partnerToken: { refresh: false }, signingKey: { refresh: false } },
    isGlobal: true,
  });
}

describe('refresh on rotation in Nest', () => {
  it('calls @OnSecretRotated() methods with the event of their secrets only, and rebuilds a refreshableProvider', async () => {
    const provider = memoryProvider({ partnerToken: 'token-1', signingKey: 'key-1' });
    @Injectable()
    class Signer {
      readonly seen: string[] = [];
      @OnSecretRotated('signingKey')
      resign(event: SecretRotatedEvent) {
        this.seen.push(`${event.name}:${String(event.previous.reveal())}->${String(event.current.reveal())}`);
      }
    }
    @Module({
      providers: [
        Signer,
        { provide: PARTNER_URL, useValue: 'http://127.0.0.1:9/partner' },
        refreshableProvider({
          provide: PARTNER,
          secret: 'partnerToken',
          inject: [PARTNER_URL],
          debounce: '0ms',
          build: (token, url: string) => new PartnerClient(url, String(token.reveal())),
          dispose: (client) => void (client.closed = true),
        }),
      ],
    })
    class AppModule {}
    const app = await (await Test.createTestingModule({ imports: [keyward(provider), AppModule] }).compile()).init();
    const store = app.get(SecretStore);
    const partner = app.get<Refreshable<PartnerClient>>(PARTNER);
    const signer = app.get(Signer);
    const first = partner.current();
    expect(first).toMatchObject({ url: 'http://127.0.0.1:9/partner', token: 'token-1' });

    provider.values['partnerToken'] = 'token-2';
    const rebuilt = nextEvent(partner, 'rebuilt', 2000);
    await store.refresh('partnerToken');
    await rebuilt;
    expect(await partner.use((client) => client.token)).toBe('token-2');
    expect(first.closed).toBe(true);
    expect(signer.seen).toEqual([]); // not its secret

    provider.values['signingKey'] = 'key-2';
    await store.refresh('signingKey');
    expect(signer.seen).toEqual(['signingKey:key-1->key-2']);

    const last = partner.current();
    await app.close();
    // Shut down with the app: the last instance is disposed, rotations no longer reach the method.
    expect(last.closed).toBe(true);
    expect(store.listenerCount('rotated')).toBe(0);
  });

  it('logs a failing @OnSecretRotated() method by name and code, without its message, and keeps serving', async () => {
    const provider = memoryProvider({ partnerToken: 'token-1', signingKey: 'key-1' });
    @Injectable()
    class Fragile {
      @OnSecretRotated('signingKey')
      async broken(event: SecretRotatedEvent) {
        throw Object.assign(new Error(`cannot use ${String(event.current.reveal())}`), { code: 'SIGNER_REFUSED' });
      }
    }
    const logged: string[] = [];
    const moduleRef = await Test.createTestingModule({ imports: [keyward(provider)], providers: [Fragile] }).compile();
    moduleRef.useLogger({ log: () => {}, warn: () => {}, error: (m: unknown) => void logged.push(String(m)) });
    const app = await moduleRef.init();
    provider.values['signingKey'] = 'secret-key-2';
    await app.get(SecretStore).refresh('signingKey');
    await new Promise((resolve) => setImmediate(resolve));
    expect(logged).toEqual([expect.stringContaining('Fragile.broken failed for signingKey@v2: Error SIGNER_REFUSED')]);
    expect(logged.join('\n')).not.toContain('secret-key-2');
    expect(String(app.get(SecretStore).get('signingKey').reveal())).toBe('secret-key-2');
    await app.close();
  });

  it('fails the bootstrap when @OnSecretRotated() names a secret the store does not declare', async () => {
    @Injectable()
    class Typo {
      @OnSecretRotated('signingKee')
      never() {}
    }
    const moduleRef = await Test.createTestingModule({ imports: [keyward(memoryProvider({ partnerToken: 't', signingKey: 'k' }))], providers: [Typo] }).compile();
    await expect(moduleRef.init()).rejects.toMatchObject({ code: 'SECRET_NOT_DECLARED', secret: 'signingKee' });
    await moduleRef.close();
  });
});
