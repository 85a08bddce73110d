import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createEnvelope,
  KeywardError,
  parseEnvelope,
  type EncryptionContext,
  type Envelope,
  type EnvelopeOptions,
  type KekProvider,
  type KeywardErrorCode,
} from '@keyward/core';
import { canary, expectNoCanary } from '../canary.js';

/**
 * What a KEK backend's test file gives the shared conformance suite: a fresh key, and the
 * backend's own controls (rotation, retiring old versions, an outage), driven through the
 * backend's API as an operator would.
 */
export interface KekHarness {
  /** A KEK on a key of its own, created for this suite. */
  readonly kek: KekProvider;
  /** Rotates the key in the backend (KMS RotateKeyOnDemand, transit rotate, a new local version). */
  rotate(): Promise<void>;
  /** Makes envelopes on versions older than the newest fail (min_decryption_version, DisableKey). */
  retireOldVersions(): Promise<void>;
  /** True when retiring disables the whole key (KMS DisableKey), so re-wrapped envelopes fail too. */
  readonly retiringDisablesKey: boolean;
  /** Undoes `retireOldVersions` where the backend can (KMS EnableKey); the suite calls it after. */
  restoreVersions?(): Promise<void>;
  /** The next `count` KEK calls fail as the backend fails when it is down. */
  failNext(count: number): void;
  /** The backend stops answering (until `recover`). */
  outage(): Promise<void> | void;
  recover(): Promise<void> | void;
  /** A version name this key has never had, in the provider's own spelling. */
  readonly unknownVersion: string;
}

/** Spies on a KEK: counts calls and keeps every data key it returned in clear, for canary scans and wipe checks. */
export function spiedKek(kek: KekProvider): {
  kek: KekProvider;
  calls: Record<'generate' | 'unwrap' | 'rewrap', number>;
  /** The buffers handed out, as the envelope holds them (zeros once wiped). */
  dataKeys: Buffer[];
  /** Copies taken when they were handed out, for canary scans. */
  copies: Buffer[];
} {
  const calls = { generate: 0, unwrap: 0, rewrap: 0 };
  const dataKeys: Buffer[] = [];
  const copies: Buffer[] = [];
  return {
    calls,
    dataKeys,
    copies,
    kek: {
      provider: kek.provider,
      keyId: kek.keyId,
      currentVersion: (o) => kek.currentVersion(o),
      async generateDataKey(options) {
        calls.generate += 1;
        const generated = await kek.generateDataKey(options);
        dataKeys.push(generated.plaintext);
        copies.push(Buffer.from(generated.plaintext));
        return generated;
      },
      async unwrapDataKey(wrapped, options) {
        calls.unwrap += 1;
        const key = await kek.unwrapDataKey(wrapped, options);
        dataKeys.push(key);
        copies.push(Buffer.from(key));
        return key;
      },
      async rewrapDataKey(wrapped, options) {
        calls.rewrap += 1;
        return kek.rewrapDataKey(wrapped, options);
      },
    },
  };
}

/** Every way a data key in clear could be spelled in text. */
export function dataKeySpellings(key: Buffer): string[] {
  return [key.toString('hex'), key.toString('base64'), key.toString('base64url')];
}

async function codeOf(promise: Promise<unknown>): Promise<KeywardErrorCode | 'resolved'> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    if (!KeywardError.is(err)) throw err;
    return err.code;
  }
}

/** Flips one bit of character `i` (staying in ASCII), as storage corruption or an attacker would. */
function flipped(text: string, i: number): string {
  return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
}

/**
 * The behaviour every KEK provider must show through `createEnvelope`: round trips, tampering
 * (every byte flipped in turn), truncation, wrong context, an unknown key version, an outage, KEK
 * rotation with re-wrap, retired versions, data-key caching, and no plaintext or data key in any output.
 */
export function describeKekConformance(name: string, setup: () => Promise<KekHarness>, teardown?: () => Promise<void>): void {
  describe(`${name}: envelope conformance`, () => {
    let harness: KekHarness;
    const envelopes: Envelope[] = [];
    const envelopeOf = (options: Partial<EnvelopeOptions> = {}, kek: KekProvider = harness.kek): Envelope => {
      const envelope = createEnvelope({ kek, timeout: '2s', retries: 1, ...options });
      envelopes.push(envelope);
      return envelope;
    };
    const context = { table: 'partners', id: '7' };

    beforeAll(async () => {
      harness = await setup();
    });
    afterAll(async () => {
      for (const envelope of envelopes) envelope.close();
      await teardown?.();
    });

    it('round-trips text and bytes in both forms, with a new IV and data key each time', async () => {
      const spy = spiedKek(harness.kek);
      const envelope = envelopeOf({}, spy.kek);
      const text = `héllo ${canary('note')}`;
      const a = await envelope.encrypt(text, { context });
      const b = await envelope.encrypt(text, { context });
      expect(a).toMatch(/^kw1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(a).not.toBe(b);
      expect(parseEnvelope(a).iv.equals(parseEnvelope(b).iv)).toBe(false);
      expect(spy.calls.generate).toBe(2);
      expect(await envelope.decryptText(a, { context: { id: '7', table: 'partners' } })).toBe(text);
      const bytes = Buffer.from([0, 255, 1, 2, 3]);
      const json = await envelope.encrypt(bytes, { context, form: 'json' });
      expect(json).toMatchObject({ format: 'keyward.envelope', version: 1, kek: { provider: harness.kek.provider } });
      expect((await envelope.decrypt(json, { context })).equals(bytes)).toBe(true);
      expect(await envelope.decryptText(await envelope.encrypt(''), {})).toBe('');
      const big = Buffer.alloc(1024 * 1024, 7);
      expect((await envelope.decrypt(await envelope.encrypt(big))).equals(big)).toBe(true);
    });

    it('wipes every data key it was handed once the call is over', async () => {
      const spy = spiedKek(harness.kek);
      const envelope = envelopeOf({}, spy.kek);
      const sealed = await envelope.encrypt('wipe me', { context });
      await envelope.decrypt(sealed, { context });
      expect(spy.dataKeys).toHaveLength(2);
      for (const key of spy.dataKeys) expect(key.every((byte) => byte === 0)).toBe(true);
    });

    it('refuses every envelope with one byte flipped, and every truncation, and never returns other data', async () => {
      const envelope = envelopeOf({ retries: 0 });
      const sealed = await envelope.encrypt('flip-me', { context });
      const codes = new Map<string, number>();
      for (let i = 0; i < sealed.length; i++) {
        const code = await codeOf(envelope.decrypt(flipped(sealed, i), { context }));
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      expect([...codes.keys()].sort()).toEqual(expect.arrayContaining(['DECRYPT_FAILED']));
      for (const code of codes.keys()) expect(['DECRYPT_FAILED', 'ENVELOPE_MALFORMED', 'ENVELOPE_VERSION']).toContain(code);
      for (let length = 0; length < sealed.length; length += 3) {
        const code = await codeOf(envelope.decrypt(sealed.slice(0, length), { context }));
        expect(['DECRYPT_FAILED', 'ENVELOPE_MALFORMED', 'ENVELOPE_VERSION']).toContain(code);
      }
      // The binary parts of the JSON form, every byte flipped in turn: the key service or GCM refuses each.
      const json = await envelope.encrypt('flip-me', { context, form: 'json' });
      for (const part of ['wrappedKey', 'iv', 'ciphertext'] as const) {
        const bytes = Buffer.from(json[part], 'base64url');
        for (let i = 0; i < bytes.length; i++) {
          const copy = Buffer.from(bytes);
          copy[i]! ^= 0x80;
          expect(await codeOf(envelope.decrypt({ ...json, [part]: copy.toString('base64url') }, { context }))).toBe('DECRYPT_FAILED');
        }
      }
    });

    it('refuses a wrong context, whatever differs, with the same code and message', async () => {
      const envelope = envelopeOf({ retries: 0 });
      const sealed = await envelope.encrypt('ctx', { context });
      const messages = new Set<string>();
      const wrongs: EncryptionContext[] = [{}, { table: 'partners' }, { table: 'partners', id: '8' }, { ...context, extra: 'x' }, { table: '7', id: 'partners' }];
      for (const wrong of wrongs) {
        const err = await envelope.decrypt(sealed, { context: wrong }).then(() => undefined, (e: unknown) => e);
        expect(KeywardError.is(err, 'DECRYPT_FAILED')).toBe(true);
        messages.add((err as KeywardError).message);
      }
      expect(messages.size).toBe(1);
    });

    it('refuses an envelope naming a key version the key never had', async () => {
      const envelope = envelopeOf({ retries: 0 });
      const parts = parseEnvelope(await envelope.encrypt('version', { context }));
      const json = await envelope.encrypt('version', { context, form: 'json' });
      const forged = { ...json, kek: { ...json.kek, keyVersion: harness.unknownVersion } };
      expect(parts.kek.keyVersion).not.toBe(harness.unknownVersion);
      expect(await codeOf(envelope.decrypt(forged, { context }))).toBe('DECRYPT_FAILED');
    });

    it('retries a failing key service, then reports KEK_UNAVAILABLE; works again once it is back', async () => {
      const envelope = envelopeOf({ retries: 2, timeout: '1s' });
      harness.failNext(1);
      const sealed = await envelope.encrypt('through one failure', { context });
      expect(await envelope.decryptText(sealed, { context })).toBe('through one failure');
      await harness.outage();
      try {
        const err = await envelope.encrypt('down', { context }).then(() => undefined, (e: unknown) => e);
        expect(KeywardError.is(err, 'KEK_UNAVAILABLE')).toBe(true);
        expect((err as KeywardError).retryable).toBe(true);
        expect(await codeOf(envelope.decrypt(sealed, { context }))).toBe('KEK_UNAVAILABLE');
      } finally {
        await harness.recover();
      }
      expect(await envelope.decryptText(sealed, { context })).toBe('through one failure');
    });

    it('caches data keys within their limits when asked, and not otherwise', async () => {
      const spy = spiedKek(harness.kek);
      const envelope = envelopeOf({ dataKeys: { cache: { maxAge: '1m', maxMessages: 3 } } }, spy.kek);
      const sealed = await Promise.all(Array.from({ length: 7 }, (_, i) => envelope.encrypt(`m${i}`, { context })));
      expect(spy.calls.generate).toBe(3); // 3 + 3 + 1 messages
      await envelope.encrypt('other row', { context: { table: 'partners', id: '8' } });
      expect(spy.calls.generate).toBe(4); // one data key per context
      await Promise.all(sealed.map((s) => envelope.decrypt(s, { context })));
      await Promise.all(sealed.map((s) => envelope.decrypt(s, { context })));
      expect(spy.calls.unwrap).toBe(3); // one unwrap per distinct wrapped key
      envelope.close();
      for (const key of spy.dataKeys) expect(key.every((byte) => byte === 0)).toBe(true);
    });

    it('after a KEK rotation, rewrap moves only the data key to the new version; retired versions fail with KEK_DISABLED', async () => {
      const spy = spiedKek(harness.kek);
      const envelope = envelopeOf({ retries: 0 }, spy.kek);
      const kept = await envelope.encrypt('rewrapped', { context });
      const left = await envelope.encrypt('left behind', { context });
      const before = parseEnvelope(kept);
      expect(await envelope.rewrap(kept, { context })).toBe(kept); // already current: no change, no re-wrap call
      expect(spy.calls.rewrap).toBe(0);

      await harness.rotate();
      const rewrapped = await envelope.rewrap(kept, { context });
      const after = parseEnvelope(rewrapped);
      expect(after.kek.keyVersion).not.toBe(before.kek.keyVersion);
      expect(after.iv.equals(before.iv)).toBe(true);
      expect(after.ciphertext.equals(before.ciphertext)).toBe(true);
      expect(after.wrappedKey.equals(before.wrappedKey)).toBe(false);
      expect(await envelope.decryptText(rewrapped, { context })).toBe('rewrapped');
      expect(await envelope.rewrap(rewrapped, { context })).toBe(rewrapped);
      expect(parseEnvelope(await envelope.encrypt('new', { context })).kek.keyVersion).toBe(after.kek.keyVersion);
      expect(await codeOf(envelope.rewrap(left, { context: { other: 'context' } }))).toBe('DECRYPT_FAILED');

      await harness.retireOldVersions();
      try {
        expect(await codeOf(envelope.decrypt(left, { context }))).toBe('KEK_DISABLED');
        if (!harness.retiringDisablesKey) expect(await envelope.decryptText(rewrapped, { context })).toBe('rewrapped');
      } finally {
        await harness.restoreVersions?.();
      }
    });

    it('rewrapAll re-wraps what is behind, skips what is current, records what fails, and can run again', async () => {
      const envelope = envelopeOf({ retries: 0 });
      const rows = new Map<number, string>();
      for (let id = 1; id <= 30; id++) rows.set(id, await envelope.encrypt(`row ${id}`, { context: { id: String(id) } }));
      rows.set(31, 'kw1.not-an-envelope');
      await harness.rotate();
      const items = () => [...rows].map(([id, sealed]) => ({ id, envelope: sealed, context: { id: String(id) } }));
      const progress: number[] = [];
      const first = await envelope.rewrapAll(items(), { save: ({ id }, sealed) => void rows.set(id, sealed as string), concurrency: 4, progressEvery: 10, onProgress: (p) => progress.push(p.seen) });
      expect(first).toMatchObject({ seen: 31, rewrapped: 30, alreadyCurrent: 0, failed: 1, resumeAfter: 31, failures: [{ id: 31, code: 'ENVELOPE_MALFORMED' }] });
      expect(progress).toEqual([10, 20, 30, 31]);
      const second = await envelope.rewrapAll(items(), { save: () => { throw new Error('nothing to save'); } });
      expect(second).toMatchObject({ seen: 31, rewrapped: 0, alreadyCurrent: 30, failed: 1 });
      for (let id = 1; id <= 30; id++) expect(await envelope.decryptText(rows.get(id)!, { context: { id: String(id) } })).toBe(`row ${id}`);
    });

    it('puts no plaintext and no data key in any envelope, error or inspection', async () => {
      const spy = spiedKek(harness.kek);
      const envelope = envelopeOf({ retries: 0 }, spy.kek);
      const secret = canary('envelope-plaintext');
      const sealed = await envelope.encrypt(secret, { context });
      const texts: Record<string, string> = { sealed, json: JSON.stringify(await envelope.encrypt(secret, { context, form: 'json' })), inspect: inspect(envelope, { depth: 5 }) };
      const failures: Promise<unknown>[] = [
        envelope.decrypt(flipped(sealed, sealed.length - 3), { context }),
        envelope.decrypt(sealed, { context: {} }),
        envelope.decrypt(sealed.slice(0, 40), { context }),
      ];
      harness.failNext(1);
      failures.push(envelope.encrypt(secret, { context }));
      // Settled at once: a KEK over the network rejects the later ones while the first is awaited.
      const settled = failures.map((failure) => failure.then(() => undefined, (e: unknown) => e));
      for (const [i, outcome] of settled.entries()) {
        const err = await outcome;
        expect(KeywardError.is(err)).toBe(true);
        texts[`error ${i}`] = `${String(err)} ${JSON.stringify(err)} ${inspect(err, { depth: 5 })} ${(err as Error).stack}`;
      }
      expect(sealed).not.toContain(secret);
      expect(spy.copies.length).toBeGreaterThan(0);
      expectNoCanary(texts, secret, ...spy.copies.flatMap(dataKeySpellings));
    });
  });
}
