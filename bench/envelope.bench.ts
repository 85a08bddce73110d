// Envelope encryption: encrypt + decrypt of 1 KiB through createEnvelope, against the KMS emulator
// with 5 ms added to every reply (a fresh data key per message, then data-key caching), side by
// side with plain AES-256-GCM under one fixed key (the limit: no key service at all), and the time
// `rewrapAll` takes to move 10,000 envelopes to a rotated KEK in the KMS emulator and in the
// Vault dev server's transit engine at the same latency.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CreateAliasCommand, CreateKeyCommand, KMSClient, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { awsKmsKek } from '@keyward/aws';
import { createEnvelope, type Envelope, type KekProvider, type RewrapItem } from '@keyward/core';
import { startKmsEmulator, startVaultDevServer } from '@keyward/testing';
import { tokenAuth, vaultTransitKek } from '@keyward/vault';
import { report, round } from './report.js';

const LATENCY_MS = 5;
const DURATION_MS = 3_000;
const CONCURRENCY = 16;
const REWRAP_ROWS = 10_000;
const PAYLOAD = randomBytes(1024);

/** Round trips per second over `DURATION_MS`, `CONCURRENCY` at once. */
async function throughput(roundTrip: (i: number) => Promise<void>): Promise<number> {
  let done = 0;
  const end = performance.now() + DURATION_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (performance.now() < end) await roundTrip(worker * 1_000_000 + done++);
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

const envelopeRoundTrip = (envelope: Envelope) => async (i: number) => {
  const context = { table: 'bench', id: String(i % 64) };
  const sealed = await envelope.encrypt(PAYLOAD, { context });
  const back = await envelope.decrypt(sealed, { context });
  if (back.length !== PAYLOAD.length) throw new Error('round trip lost bytes');
};

/** The limit: AES-256-GCM under one key held in the process, same payload, same context as AAD. */
function plainRoundTrip(): (i: number) => Promise<void> {
  const key = randomBytes(32);
  return async (i) => {
    const aad = Buffer.from(JSON.stringify([['id', String(i % 64)], ['table', 'bench']]));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
    const sealed = Buffer.concat([cipher.update(PAYLOAD), cipher.final()]);
    const tag = cipher.getAuthTag();
    const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad).setAuthTag(tag);
    const back = Buffer.concat([decipher.update(sealed), decipher.final()]);
    if (back.length !== PAYLOAD.length) throw new Error('round trip lost bytes');
  };
}

async function rewrapTime(kek: KekProvider, rotate: () => Promise<void>): Promise<{ ms: number; rewrapped: number }> {
  const writer = createEnvelope({ kek, dataKeys: { cache: { maxAge: '10m', maxMessages: 1000 } } });
  const rows: RewrapItem<number>[] = [];
  for (let start = 0; start < REWRAP_ROWS; start += 500) {
    const batch = await Promise.all(Array.from({ length: 500 }, (_, i) => writer.encrypt(PAYLOAD.subarray(0, 64), { context: { id: String(start + i) } })));
    batch.forEach((envelope, i) => rows.push({ id: start + i, envelope, context: { id: String(start + i) } }));
  }
  writer.close();
  await rotate();
  const envelope = createEnvelope({ kek });
  const started = performance.now();
  const saved = new Map<number, string>();
  const summary = await envelope.rewrapAll(rows, { save: (item, sealed) => void saved.set(item.id, sealed as string), concurrency: CONCURRENCY });
  const ms = performance.now() - started;
  if (summary.failed > 0 || saved.size !== rows.length) throw new Error(`${summary.failed} envelopes failed to re-wrap`);
  // Every re-wrapped envelope opens under the new version (checked, not timed).
  for (let start = 0; start < rows.length; start += 500) {
    await Promise.all(rows.slice(start, start + 500).map((row) => envelope.decrypt(saved.get(row.id)!, { context: row.context })));
  }
  return { ms, rewrapped: summary.rewrapped };
}

export async function run(): Promise<void> {
  const kms = await startKmsEmulator();
  const vault = await startVaultDevServer();
  try {
    const client = new KMSClient({ endpoint: kms.endpoint, region: kms.region, credentials: kms.credentials });
    const keyId = (await client.send(new CreateKeyCommand({ Description: 'bench' }))).KeyMetadata!.KeyId!;
    await client.send(new CreateAliasCommand({ AliasName: 'alias/bench', TargetKeyId: keyId }));
    kms.setLatency(LATENCY_MS);
    const kek = awsKmsKek({ client, keyId: 'alias/bench' });

    const plain = await throughput(plainRoundTrip());
    const fresh = createEnvelope({ kek });
    const freshOps = await throughput(envelopeRoundTrip(fresh));
    const cached = createEnvelope({ kek, dataKeys: { cache: { maxAge: '5m', maxMessages: 10_000 } } });
    const cachedOps = await throughput(envelopeRoundTrip(cached));
    cached.close();
    const common = { payloadBytes: 1024, concurrency: CONCURRENCY, durationMs: DURATION_MS, kmsLatencyMs: LATENCY_MS, contexts: 64 };
    report({ name: 'envelope.aes-gcm.fixed-key.1KiB.round-trips', unit: 'round trips/s', value: Math.round(plain), comparison: { against: 'the limit: AES-256-GCM under one key in the process, no key service', ...common } });
    report({
      name: 'envelope.kms.fresh-dek.1KiB.round-trips',
      unit: 'round trips/s',
      value: Math.round(freshOps),
      comparison: {
        against: 'plain AES-256-GCM with a fixed key',
        plain: Math.round(plain),
        ratio: round(freshOps / plain, 4),
        kmsCallsPerRoundTrip: 2,
        // The latency floor: each worker waits for two KMS answers per round trip.
        floor: Math.round(CONCURRENCY / ((2 * LATENCY_MS) / 1000)),
        ratioToFloor: round(freshOps / (CONCURRENCY / ((2 * LATENCY_MS) / 1000)), 2),
        ...common,
      },
    });
    report({
      name: 'envelope.kms.cached-dek.1KiB.round-trips',
      unit: 'round trips/s',
      value: Math.round(cachedOps),
      comparison: {
        against: 'plain AES-256-GCM with a fixed key',
        plain: Math.round(plain),
        ratio: round(cachedOps / plain, 3),
        freshDek: Math.round(freshOps),
        speedupOverFreshDek: round(cachedOps / freshOps, 1),
        cache: { maxAge: '5m', maxMessages: 10_000 },
        ...common,
      },
    });

    kms.setLatency(LATENCY_MS);
    const kmsRewrap = await rewrapTime(kek, async () => void (await client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))));
    report({
      name: 'envelope.rewrap.10k.aws-kms',
      unit: 'ms',
      value: Math.round(kmsRewrap.ms),
      comparison: { against: 'KMS emulator, ReEncrypt per envelope', rows: REWRAP_ROWS, allDecryptAfter: true, rewrapped: kmsRewrap.rewrapped, perSecond: Math.round(kmsRewrap.rewrapped / (kmsRewrap.ms / 1000)), floorMs: Math.ceil(REWRAP_ROWS / CONCURRENCY) * LATENCY_MS, concurrency: CONCURRENCY, latencyMs: LATENCY_MS },
    });

    const headers = { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/json' };
    for (const [path, body] of [['sys/mounts/transit', { type: 'transit' }], ['transit/keys/bench', { derived: true }]] as const) {
      const res = await fetch(`${vault.url}/v1/${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`vault ${path}: ${res.status}`);
    }
    vault.setLatency(LATENCY_MS);
    const transit = vaultTransitKek({ endpoint: vault.url, auth: tokenAuth({ token: vault.rootToken }), renewToken: false, key: 'bench' });
    const transitRewrap = await rewrapTime(transit, async () => {
      const res = await fetch(`${vault.url}/v1/transit/keys/bench/rotate`, { method: 'POST', headers });
      if (!res.ok) throw new Error(`vault rotate: ${res.status}`);
    });
    await transit.close();
    report({
      name: 'envelope.rewrap.10k.vault-transit',
      unit: 'ms',
      value: Math.round(transitRewrap.ms),
      comparison: { against: 'Vault dev server transit engine, rewrap per envelope', rows: REWRAP_ROWS, allDecryptAfter: true, rewrapped: transitRewrap.rewrapped, perSecond: Math.round(transitRewrap.rewrapped / (transitRewrap.ms / 1000)), floorMs: Math.ceil(REWRAP_ROWS / CONCURRENCY) * LATENCY_MS, concurrency: CONCURRENCY, latencyMs: LATENCY_MS },
    });
  } finally {
    await kms.close();
    await vault.close();
  }
}
