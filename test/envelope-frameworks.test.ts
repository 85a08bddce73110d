import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createEnvelope, envProvider, localKek, parseEnvelope, SecretStore, type Envelope } from '@keyward/core';
import { keywardErrorHandler } from '@keyward/express';
import { KEYWARD_ENVELOPE, KeywardModule } from '@keyward/nestjs';
import { Body, Controller, Get, Inject, Injectable, Module, Param, Put, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express from 'express';
import request from 'supertest';
import { canary, expectNoCanary } from '@keyward/test-support';

// The envelope as apps use it: injected in Nest, built from the store in Express; a field stored
// sealed, read back, and the KEK rotated by changing the declared secret, with no restart.

const keySet = (versions: number[]) => JSON.stringify(Object.fromEntries(versions.map((v) => [String(v), randomBytes(32).toString('base64')])));

@Injectable()
class Notes {
  readonly rows = new Map<string, string>();
  constructor(@Inject(KEYWARD_ENVELOPE) readonly envelope: Envelope) {}
}

@Controller('notes')
class NotesController {
  constructor(private readonly notes: Notes) {}
  @Put(':id')
  async put(@Param('id') id: string, @Body() body: { text: string }) {
    const sealed = await this.notes.envelope.encrypt(body.text, { context: { table: 'notes', id } });
    this.notes.rows.set(id, sealed);
    return { id, kek: parseEnvelope(sealed).kek };
  }
  @Get(':id')
  async get(@Param('id') id: string) {
    return { id, text: await this.notes.envelope.decryptText(this.notes.rows.get(id)!, { context: { table: 'notes', id } }) };
  }
}

describe('envelope in NestJS: KeywardModule.forRoot({ envelope })', () => {
  const env: Record<string, string> = { ENVELOPE_KEK: keySet([1]) };
  let app: INestApplication;
  let store: SecretStore;

  beforeAll(async () => {
    @Module({
      imports: [
        KeywardModule.forRoot({
          app: 'notes',
          environment: 'test',
          providers: { test: envProvider({ env }) },
          secrets: { envelopeKek: {} },
          envelope: { kek: { localKeySet: 'envelopeKek' } },
        }),
      ],
      controllers: [NotesController],
      providers: [Notes],
    })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    store = app.get(SecretStore);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('injects an envelope that seals a field, and follows a KEK rotation of the declared secret without a restart', async () => {
    const secret = canary('note');
    const put = await request(app.getHttpServer()).put('/notes/1').send({ text: secret }).expect(200);
    expect(put.body.kek).toEqual({ provider: 'local', keyId: 'envelopeKek', keyVersion: '1' });
    const notes = app.get(Notes);
    expect(notes.rows.get('1')).not.toContain(secret);
    expect((await request(app.getHttpServer()).get('/notes/1').expect(200)).body.text).toBe(secret);

    const old = JSON.parse(env['ENVELOPE_KEK']!) as Record<string, string>;
    env['ENVELOPE_KEK'] = JSON.stringify({ ...old, '2': randomBytes(32).toString('base64') });
    await store.refresh('envelopeKek');
    expect((await request(app.getHttpServer()).put('/notes/2').send({ text: 'after' }).expect(200)).body.kek.keyVersion).toBe('2');
    expect((await request(app.getHttpServer()).get('/notes/1').expect(200)).body.text).toBe(secret);
    const rewrapped = await notes.envelope.rewrap(notes.rows.get('1')!, { context: { table: 'notes', id: '1' } });
    expect(parseEnvelope(rewrapped).kek.keyVersion).toBe('2');
  });

  it('answers a tampered field with a 500 that says nothing about it', async () => {
    const notes = app.get(Notes);
    const secret = canary('tampered');
    await request(app.getHttpServer()).put('/notes/3').send({ text: secret }).expect(200);
    const sealed = notes.rows.get('3')!;
    // One character of the ciphertext changed (to another one, whatever it was).
    const at = sealed.length - 2;
    notes.rows.set('3', sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1));
    const res = await request(app.getHttpServer()).get('/notes/3').expect(500);
    expectNoCanary({ body: res.text }, secret, sealed);
  });
});

describe('envelope in Express: the same object, from the store', () => {
  let store: SecretStore;
  let envelope: Envelope;
  const server = express();

  beforeAll(async () => {
    store = await new SecretStore({ app: 'notes', environment: 'test', providers: { test: envProvider({ env: { ENVELOPE_KEK: keySet([1, 2]) } }) }, secrets: { envelopeKek: {} } }).start();
    envelope = createEnvelope({ kek: localKek({ keyId: 'envelopeKek', keys: () => store.get('envelopeKek').reveal() }) });
    server.locals['envelope'] = envelope;
    const rows = new Map<string, string>();
    server.use(express.json());
    server.put('/notes/:id', async (req, res, next) => {
      try {
        rows.set(req.params.id, await (req.app.locals['envelope'] as Envelope).encrypt(req.body.text, { context: { id: req.params.id } }));
        res.status(204).end();
      } catch (err) {
        next(err);
      }
    });
    server.get('/notes/:id', async (req, res, next) => {
      try {
        // Read under the wrong row's context: what a copied ciphertext looks like.
        res.json({ text: await envelope.decryptText(rows.get(req.params.id)!, { context: { id: String(req.query['as'] ?? req.params.id) } }) });
      } catch (err) {
        next(err);
      }
    });
    server.use(keywardErrorHandler());
  });
  afterAll(async () => {
    envelope?.close();
    await store?.close();
  });

  it('round-trips a field and answers a field read under another row with DECRYPT_FAILED', async () => {
    const secret = canary('express-note');
    await request(server).put('/notes/a').send({ text: secret }).expect(204);
    expect((await request(server).get('/notes/a').expect(200)).body.text).toBe(secret);
    const refused = await request(server).get('/notes/a?as=b').expect(500);
    expect(refused.body).toEqual({ error: { code: 'DECRYPT_FAILED', message: 'Stored data could not be decrypted.' } });
    expectNoCanary({ body: refused.text }, secret);
  });
});
