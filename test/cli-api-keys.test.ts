import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretsManagerKeyRing } from '@keyward/aws';
import { createApiKeyVerifier, fileKeyRing, type KeyRing, type KeyRingBackend } from '@keyward/core';
import { freePort, startSecretsManagerEmulator, startVaultDevServer, type SecretsManagerEmulator, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultKeyRing, type VaultConnection } from '@keyward/vault';
import { Redis } from 'ioredis';
import { canary, expectNoCanary } from '@keyward/test-support';
import { runCli, type CliRun } from './support/cli.js';

const PEPPER = canary('pepper');
const CONFIG_TOKEN = canary('config-token');
const KEY_PATTERN = /^kw_(live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]+$/;

type Run = CliRun;

/** Every run's output, scanned for the pepper, the tokens and (on stderr) the issued keys after all tests. */
const runs: Run[] = [];
const issuedKeys: string[] = [];
/** The cwd of runs that do not name one: the test's own temporary folder (no stray .keyward/cli.json). */
let defaultCwd = tmpdir();

const keyward = (args: string[], env: Record<string, string | undefined> = {}, cwd = defaultCwd): Promise<Run> => runCli(args, env, cwd, runs);

/** Runs create/rotate and returns the key printed on stdout, checking it is the only thing there. */
async function issue(args: string[], env: Record<string, string | undefined>, cwd?: string): Promise<string> {
  const run = await keyward(args, env, cwd);
  expect(run).toMatchObject({ code: 0, stderr: expect.stringContaining('shown once') });
  expect(run.stdout).toMatch(/^kw_\w+\n$/);
  const key = run.stdout.trimEnd();
  expect(key).toMatch(KEY_PATTERN);
  issuedKeys.push(key);
  return key;
}

function verifierFor(ring: KeyRing) {
  return createApiKeyVerifier({ ring: () => ring, pepper: () => PEPPER });
}

describe('keyward api-keys (the operators command line)', () => {
  let dir: string;
  let vault: VaultDevServer;
  let emulator: SecretsManagerEmulator;
  let connection: VaultConnection;
  let sm: SecretsManagerClient;
  let n = 0;
  const fileEnv = () => ({ KEYWARD_PEPPER: 'env:API_KEY_PEPPER', API_KEY_PEPPER: PEPPER });

  beforeAll(async () => {
    [vault, emulator, dir] = await Promise.all([startVaultDevServer(), startSecretsManagerEmulator(), mkdtemp(join(tmpdir(), 'keyward-cli-'))]);
    defaultCwd = dir;
    connection = createVaultConnection({ endpoint: vault.url, auth: tokenAuth({ token: vault.rootToken }) });
    sm = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials, maxAttempts: 1 });
    await connection.request({ method: 'POST', path: 'secret/data/billing/live/api-key-pepper', body: { data: { value: PEPPER } }, doing: 'seed' });
    await sm.send(new CreateSecretCommand({ Name: 'billing/live/api-key-pepper', SecretString: JSON.stringify({ value: PEPPER }) }));
  });

  afterAll(async () => {
    sm?.destroy();
    await connection?.close();
    await Promise.all([vault?.close(), emulator?.close(), dir && rm(dir, { recursive: true, force: true })]);
    // Canary scan over every run of the file.
    const texts = Object.fromEntries(runs.flatMap((r, i) => [[`run ${i} stdout`, r.stdout], [`run ${i} stderr`, r.stderr]]));
    expectNoCanary(texts, PEPPER, CONFIG_TOKEN, vault.rootToken);
    expectNoCanary(Object.fromEntries(runs.map((r, i) => [`run ${i} stderr`, r.stderr])), ...issuedKeys);
  });

  describe('file ring, env: pepper', () => {
    let ringPath: string;
    let ring: string;
    let backend: KeyRingBackend;
    let first: string;
    let firstId: string;
    let second: string;

    beforeAll(() => {
      ringPath = join(dir, 'ring.json');
      ring = `file:${ringPath}`;
      backend = fileKeyRing(ringPath);
    });

    it('create prints only the key on stdout; the key verifies against the ring file', async () => {
      first = await issue(['api-keys', 'create', '--ring', ring, '--client', 'partner-a', '--scopes', 'reports:read,orders:read', '--label', 'first'], fileEnv());
      firstId = first.split('_')[2]!;
      const verified = verifierFor((await backend.read()).ring).verify(first, { scopes: ['reports:read'] });
      expect(verified).toMatchObject({ client: 'partner-a', keyId: firstId, status: 'current' });
      expect(runs.at(-1)!.stderr).toMatch(new RegExp(`${firstId}[\\s\\S]*reports:read, orders:read[\\s\\S]*revision [0-9a-f]{64}[\\s\\S]*next poll`));
    });

    it('rotate --grace 24h: the old key becomes previous with a sunset ~24 h later, the new key is current', async () => {
      const before = Date.now();
      second = await issue(['api-keys', 'rotate', '--ring', ring, '--client', 'partner-a', '--grace', '24h'], fileEnv());
      const verifier = verifierFor((await backend.read()).ring);
      expect(verifier.verify(second)).toMatchObject({ client: 'partner-a', status: 'current' });
      expect(verifier.verify(first)).toMatchObject({ status: 'previous' });
      const old = (await backend.read()).ring.keys.find((k) => k.keyId === firstId)!;
      const sunset = Date.parse(old.expiresAt!);
      expect(sunset - before).toBeGreaterThanOrEqual(24 * 3600_000 - 1000);
      expect(sunset - Date.now()).toBeLessThanOrEqual(24 * 3600_000 + 1000);
      expect(runs.at(-1)!.stderr).toContain(`${firstId} keeps working until ${old.expiresAt}`);
    });

    it('revoke ends the old key at once (API_KEY_REVOKED); list shows the three rows with their statuses', async () => {
      const third = await issue(['api-keys', 'create', '--ring', ring, '--client', 'partner-b', '--scopes', ''], { ...fileEnv(), KEYWARD_KEY_ENV: 'test' });
      expect(third).toMatch(/^kw_test_/);
      const revoked = await keyward(['api-keys', 'revoke', '--ring', ring, '--key-id', firstId], {});
      expect(revoked).toMatchObject({ code: 0, stderr: '' });
      expect(revoked.stdout).toContain(`Revoked API key ${firstId} of client "partner-a"`);
      const afterRevoke = (await backend.read()).ring;
      expect(() => verifierFor(afterRevoke).verify(first)).toThrow(expect.objectContaining({ code: 'API_KEY_REVOKED' }));

      const listed = await keyward(['api-keys', 'list', '--ring', ring], {});
      expect(listed.code).toBe(0);
      const lines = listed.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^KEY ID\s+CLIENT\s+STATUS\s+SCOPES\s+CREATED\s+ENDS\s+LABEL$/);
      expect(lines).toHaveLength(4);
      expect(listed.stdout).toMatch(new RegExp(`${firstId}\\s+partner-a\\s+revoked\\s+reports:read,orders:read\\s+\\S+\\s+revoked \\S+\\s+first`));
      expect(listed.stdout).toMatch(/partner-a\s+current/);
      expect(listed.stdout).toMatch(/partner-b\s+current\s+-/);
      expect(listed.stdout).not.toMatch(/[0-9a-f]{64}/); // no hmac
    });

    it('--json variants parse: create/rotate carry the key, list carries no hmac', async () => {
      const created = await keyward(['api-keys', 'create', '--ring', ring, '--client', 'partner-c', '--scopes', 'a', '--json'], fileEnv());
      expect(created.code).toBe(0);
      const c = JSON.parse(created.stdout) as Record<string, unknown>;
      expect(c).toMatchObject({ action: 'create', client: 'partner-c', scopes: ['a'], env: 'live', published: false, revision: expect.any(String) });
      expect(c['key']).toMatch(KEY_PATTERN);
      issuedKeys.push(c['key'] as string);

      const rotated = await keyward(['api-keys', 'rotate', '--ring', ring, '--client', 'partner-c', '--grace', '1h', '--scopes', 'a,b', '--json'], fileEnv());
      const r = JSON.parse(rotated.stdout) as Record<string, unknown>;
      expect(r).toMatchObject({ action: 'rotate', client: 'partner-c', scopes: ['a', 'b'], previous: { keyId: c['keyId'], expiresAt: expect.any(String) } });
      issuedKeys.push(r['key'] as string);
      expect(verifierFor((await backend.read()).ring).verify(r['key'] as string, { scopes: ['b'] })).toMatchObject({ status: 'current' });

      const revoked = JSON.parse((await keyward(['api-keys', 'revoke', '--ring', ring, '--key-id', c['keyId'] as string, '--json'])).stdout);
      expect(revoked).toMatchObject({ action: 'revoke', keyId: c['keyId'], client: 'partner-c', status: 'revoked', revokedAt: expect.any(String), published: false });

      const listed = JSON.parse((await keyward(['api-keys', 'list', '--ring', ring, '--json'])).stdout) as { keys: Record<string, unknown>[]; revision: string };
      expect(listed.keys).toHaveLength(5);
      for (const key of listed.keys) expect(key).not.toHaveProperty('hmac');

      const pruned = await keyward(['api-keys', 'prune', '--ring', ring, '--retention', '0s', '--json']);
      expect(JSON.parse(pruned.stdout)).toMatchObject({ action: 'prune', pruned: expect.arrayContaining([firstId, c['keyId']]) });
      expect((await backend.read()).ring.keys).toHaveLength(3);
    });
  });

  it('vault ring + vault pepper (vault:secret/...#value), through VAULT_ADDR/VAULT_TOKEN', async () => {
    const path = `billing/live/api-keys-${++n}`;
    const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken, KEYWARD_RING: `vault:secret/${path}`, KEYWARD_PEPPER: 'vault:secret/billing/live/api-key-pepper#value' };
    const key = await issue(['api-keys', 'create', '--client', 'partner', '--scopes', 'reports:read'], env);
    const rotated = await issue(['api-keys', 'rotate', '--client', 'partner', '--grace', '24h'], env);
    expect(runs.at(-1)!.stderr).toContain(`vault kv secret/data/${path}, revision v2`);
    const backend = vaultKeyRing({ connection, path });
    const verifier = verifierFor((await backend.read()).ring);
    expect(verifier.verify(key)).toMatchObject({ status: 'previous' });
    expect(verifier.verify(rotated)).toMatchObject({ status: 'current' });
    const listed = await keyward(['api-keys', 'list'], env);
    expect(listed.stdout).toMatch(/partner\s+previous[\s\S]*partner\s+current/);
  });

  it('aws ring + aws pepper (aws:SECRET_ID#value), through AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_REGION', async () => {
    const secretId = `billing/live/api-keys-${++n}`;
    const env = {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: emulator.endpoint,
      AWS_REGION: emulator.region,
      AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
    };
    const flags = ['--ring', `aws:${secretId}`, '--pepper', 'aws:billing/live/api-key-pepper#value'];
    const key = await issue(['api-keys', 'create', ...flags, '--client', 'partner', '--scopes', 'reports:read'], env);
    const keyId = key.split('_')[2]!;
    expect(await keyward(['api-keys', 'revoke', ...flags, '--key-id', keyId], env)).toMatchObject({ code: 0 });
    const { ring } = await secretsManagerKeyRing({ client: sm, secretId }).read();
    expect(() => verifierFor(ring).verify(key)).toThrow(expect.objectContaining({ code: 'API_KEY_REVOKED' }));
  });

  it('config file < environment < flag; ./.keyward/cli.json in cwd, --config and KEYWARD_CONFIG', async () => {
    const cwd = await mkdtemp(join(dir, 'cwd-'));
    await mkdir(join(cwd, '.keyward'));
    const config = join(cwd, '.keyward', 'cli.json');
    await writeFile(config, JSON.stringify({ ring: 'file:from-config.json', pepper: 'env:API_KEY_PEPPER', env: 'test', vault: { addr: vault.url, token: CONFIG_TOKEN } }), { mode: 0o600 });
    await chmod(config, 0o600);
    const where = async (args: string[], env: Record<string, string>) => {
      const run = await keyward(['api-keys', 'list', '--json', ...args], env, cwd);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      return (JSON.parse(run.stdout) as { location: string }).location;
    };
    expect(await where([], {})).toBe(`file ${join(cwd, 'from-config.json')}`);
    expect(await where([], { KEYWARD_RING: 'file:from-env.json' })).toBe(`file ${join(cwd, 'from-env.json')}`);
    expect(await where(['--ring', 'file:from-flag.json'], { KEYWARD_RING: 'file:from-env.json' })).toBe(`file ${join(cwd, 'from-flag.json')}`);

    // env from the config file ('test'), overridden by KEYWARD_KEY_ENV, overridden by --env.
    const pepper = { API_KEY_PEPPER: PEPPER };
    expect(await issue(['api-keys', 'create', '--client', 'c1', '--scopes', 'a'], pepper, cwd)).toMatch(/^kw_test_/);
    expect(await issue(['api-keys', 'create', '--client', 'c2', '--scopes', 'a'], { ...pepper, KEYWARD_KEY_ENV: 'live' }, cwd)).toMatch(/^kw_live_/);
    expect(await issue(['api-keys', 'create', '--client', 'c3', '--scopes', 'a', '--env', 'test'], { ...pepper, KEYWARD_KEY_ENV: 'live' }, cwd)).toMatch(/^kw_test_/);

    // An explicit config file (flag > KEYWARD_CONFIG > ./.keyward/cli.json).
    const other = join(dir, `other-${++n}.json`);
    await writeFile(other, JSON.stringify({ ring: 'file:from-other.json' }), { mode: 0o600 });
    expect(await where([], { KEYWARD_CONFIG: other })).toBe(`file ${join(cwd, 'from-other.json')}`);
    expect(await where(['--config', config], { KEYWARD_CONFIG: other })).toBe(`file ${join(cwd, 'from-config.json')}`);
    // The Vault token in the config file is used (and never printed): the dev server refuses it.
    const refused = await keyward(['api-keys', 'list', '--ring', 'vault:secret/billing/live/api-keys'], {}, cwd);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^keyward: PERMISSION_DENIED: /);
    // A missing explicit config file is an operation failure.
    expect(await keyward(['api-keys', 'list', '--config', join(dir, 'nope.json')], {}, cwd)).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: CONFIG_INVALID: /) });
  });

  describe('failures', () => {
    it.each([
      [[], /missing command/],
      [['api-keys'], /missing api-keys command/],
      [['nope', 'list'], /unknown command "nope"/],
      [['api-keys', 'remove'], /unknown api-keys command "remove"/],
      [['api-keys', 'list', '--bogus'], /unknown option '--bogus'/],
      [['api-keys', 'create', '--client', 'x'], /missing --scopes/],
      [['api-keys', 'rotate', '--scopes', 'a', '--grace', '1h'], /missing --client/],
      [['api-keys', 'revoke'], /missing --key-id/],
      [['api-keys', 'list', 'extra'], /unexpected positional argument #1 \(5 characters, not shown\)/],
    ])('usage error %j exits 2 with a short usage', async (args, message) => {
      const run = await keyward(args, fileEnv());
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/^keyward: [\s\S]*\nUsage:/);
    });

    it('a pasted secret in the wrong place (a stray argument, a command, an option) is refused without being echoed', async () => {
      const pasted = `Zq${canary('pasted')}`;
      const cases: [string[], RegExp][] = [
        [['api-keys', 'list', pasted], new RegExp(`unexpected positional argument #1 \\(${pasted.length} characters, not shown\\)`)],
        [['api-keys', 'rotate', '--client', 'a', '--grace', '1h', 'extra', pasted], /unexpected positional argument #1 \(5 characters, not shown\)/],
        [['api-keys', 'list', '--', pasted], /unexpected positional argument #1/],
        [[pasted], /unknown command \(\d+ characters, not shown\)/],
        [['api-keys', pasted], /unknown api-keys command \(\d+ characters, not shown\)/],
        [['api-keys', 'list', `--${pasted}`], /unknown option \(\d+ characters, not shown\)/],
        [['api-keys', 'list', `--${pasted}=x`], /unknown option \(\d+ characters, not shown\)/],
      ];
      for (const [args, message] of cases) {
        const run = await keyward(args, fileEnv());
        expect(run).toMatchObject({ code: 2, stdout: '' });
        expect(run.stderr).toMatch(message);
        expectNoCanary({ stderr: run.stderr }, pasted, pasted.slice(0, 12), pasted.slice(-12));
      }
    });

    it('a duration without a unit (--grace 24) or of absurd length is refused before the ring is touched', async () => {
      const ringPath = join(dir, `ring-${++n}.json`);
      const ring = `file:${ringPath}`;
      await issue(['api-keys', 'create', '--ring', ring, '--client', 'a', '--scopes', 'x'], fileEnv());
      const before = (await fileKeyRing(ringPath).read()).revision;
      for (const [flag, value] of [['--grace', '24'], ['--grace', '0'], ['--grace', '999999999d'], ['--grace', '9'.repeat(400)], ['--retention', '7']] as const) {
        const command = flag === '--grace' ? ['rotate', '--client', 'a'] : ['prune'];
        const run = await keyward(['api-keys', ...command, '--ring', ring, flag, value], fileEnv());
        expect(run).toMatchObject({ code: 1, stdout: '' });
        expect(run.stderr).toMatch(new RegExp(`^keyward: CONFIG_INVALID: ${flag} (is a number with no unit: add one of ms, s, m, h, d|is too long: at most 36500d)`));
      }
      expect((await fileKeyRing(ringPath).read()).revision).toBe(before);
    });

    it('--help prints the usage on stdout and exits 0', async () => {
      expect(await keyward(['api-keys', 'rotate', '--help'])).toMatchObject({ code: 0, stderr: '', stdout: expect.stringContaining('--grace DURATION') });
      expect(await keyward(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('api-keys') });
    });

    it('a missing ring location, a missing pepper, a bad duration and an unreachable Vault exit 1 with a code', async () => {
      expect(await keyward(['api-keys', 'list'], {})).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^keyward: CONFIG_INVALID: no key ring location/) });
      const ring = `file:${join(dir, `ring-${++n}.json`)}`;
      expect(await keyward(['api-keys', 'create', '--ring', ring, '--client', 'a', '--scopes', 'x'], {})).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: CONFIG_INVALID: no pepper location/) });
      expect(await keyward(['api-keys', 'rotate', '--ring', ring, '--client', 'a', '--grace', 'soon'], fileEnv())).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: CONFIG_INVALID: --grace/) });
      expect(await keyward(['api-keys', 'revoke', '--ring', ring, '--key-id', 'AAAAAAAAAAAA'], {})).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: API_KEY_UNKNOWN: /) });
      const port = await freePort();
      const down = await keyward(['api-keys', 'create', '--ring', 'vault:secret/billing/live/api-keys', '--client', 'a', '--scopes', 'x'], {
        VAULT_ADDR: `http://127.0.0.1:${port}`,
        VAULT_TOKEN: vault.rootToken,
        KEYWARD_PEPPER: 'vault:secret/billing/live/api-key-pepper#value',
      });
      expect(down).toMatchObject({ code: 1, stdout: '' });
      expect(down.stderr).toMatch(/^keyward: PROVIDER_UNAVAILABLE: .*127\.0\.0\.1|^keyward: PROVIDER_UNAVAILABLE: .*ECONNREFUSED/);
    });
  });

  it('--redis: a subscriber on the channel receives the notice of a revoke', async () => {
    const subscriber = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await subscriber.connect();
      await subscriber.subscribe('keyward:api-keys');
      const ringPath = join(dir, `ring-${++n}.json`);
      const ring = `file:${ringPath}`;
      const key = await issue(['api-keys', 'create', '--ring', ring, '--client', 'partner', '--scopes', 'a', '--redis', 'redis://127.0.0.1:6379'], fileEnv());
      expect(runs.at(-1)!.stderr).toContain('notified via Redis');
      const keyId = key.split('_')[2]!;
      const received = new Promise<Record<string, unknown>>((resolve) => {
        subscriber.on('message', (_channel: string, message: string) => {
          const notice = JSON.parse(message) as Record<string, unknown>;
          if (notice['action'] === 'revoke' && notice['keyId'] === keyId) resolve(notice);
        });
      });
      const revoked = await keyward(['api-keys', 'revoke', '--ring', ring, '--key-id', keyId, '--json'], { KEYWARD_REDIS_URL: 'redis://127.0.0.1:6379' });
      expect(JSON.parse(revoked.stdout)).toMatchObject({ published: true });
      const notice = await received;
      expect(notice).toMatchObject({ action: 'revoke', keyId, client: 'partner', revision: (await fileKeyRing(ringPath).read()).revision });

      // Redis unreachable: the write still lands, reported as not published.
      const port = await freePort();
      const unpublished = await keyward(['api-keys', 'revoke', '--ring', ring, '--key-id', keyId, '--redis', `redis://127.0.0.1:${port}`]);
      expect(unpublished.code).toBe(0);
      expect(unpublished.stdout).toMatch(/NOT notified via Redis \(PROVIDER_\w+\)/);
    } finally {
      subscriber.disconnect();
    }
  });

  it('the real executable lists the ring and exits by itself', async () => {
    const ringPath = join(dir, 'ring.json');
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--conditions=@keyward/source', '--import', 'tsx', 'packages/cli/src/bin.ts', 'api-keys', 'list', '--ring', `file:${ringPath}`],
        { cwd: join(import.meta.dirname, '..'), timeout: 15_000, env: { PATH: process.env['PATH'], HOME: process.env['HOME'] } },
        (error, out, err) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out, stderr: err }),
      );
    });
    runs.push({ code, stdout, stderr });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^KEY ID\s+CLIENT\s+STATUS/);
    expect(stdout).toMatch(/partner-a\s+current/);
  });
});
