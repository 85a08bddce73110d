import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateApiKey } from '@keyward/core';
import { runCli, type CliRun } from './support/cli.js';

/** Every run's output, searched for any part of a key's secret after all tests. */
const runs: CliRun[] = [];
const keys: string[] = [];
let dir: string;

function issue(env: string) {
  const issued = generateApiKey({ env });
  keys.push(issued.key);
  return issued;
}

/** `key` with its last character (in the checksum) changed: the shape of a key, not a key. */
function broken(key: string): string {
  return key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
}

async function put(path: string, content: string | Buffer): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
}

const keyward = (args: string[], cwd = dir): Promise<CliRun> => runCli(['scan', ...args], {}, cwd, runs);

describe('keyward scan (leaked API keys in files)', () => {
  const live = issue('live');
  const test = issue('test');
  const hidden = issue('live');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-cli-scan-'));
    await put(join(dir, 'tree', '.env'), `# partner\nOTHER=1\nKEYWARD_API_KEY=${live.key}\n`);
    await put(join(dir, 'tree', 'config', 'partner.json'), JSON.stringify({ partner: { apiKey: test.key } }, null, 2));
    await put(join(dir, 'tree', 'config', 'typo.yaml'), `partner:\n  api_key: ${broken(hidden.key)}\n`);
    await put(join(dir, 'tree', 'src', 'token.ts'), `const notAKey = 'x${hidden.key}';\n`);
    await put(join(dir, 'tree', 'node_modules', 'some-package', 'index.js'), `module.exports = '${hidden.key}';\n`);
    await put(join(dir, 'tree', '.git', 'COMMIT_EDITMSG'), `${hidden.key}\n`);
    await put(join(dir, 'tree', 'image.bin'), Buffer.concat([Buffer.from([0x89, 0x50, 0, 0]), Buffer.from(` ${hidden.key} `)]));
    await put(join(dir, 'tree', 'dump.sql'), `${' '.repeat(5 * 1024 * 1024)}\n${hidden.key}\n`);
    await put(join(dir, 'clean', 'README.md'), `# clean\nAn example: kw_live_<keyId>_<secret>, and a typo ${broken(hidden.key)}\n`);
    await put(join(dir, 'clean', 'node_modules', 'x', 'index.js'), `'${hidden.key}'\n`);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    const printed = runs.map((r) => `${r.stdout}\n${r.stderr}`).join('\n');
    for (const key of keys) {
      const secret = key.slice(-49);
      expect(printed).not.toContain(secret.slice(0, 10));
      expect(printed).not.toContain(secret.slice(-10));
    }
  });

  it('finds the keys of a tree: one line per key with path, line, column, key id and env; exit 1', async () => {
    const run = await keyward(['tree']);
    expect(run.stdout).toBe(
      `tree/.env:3:17: Keyward API key ${live.keyId} (env live)\n` + `tree/config/partner.json:3:16: Keyward API key ${test.keyId} (env test)\n`,
    );
    expect(run.stderr).toBe('keyward: found 2 Keyward API keys: revoke each (keyward api-keys revoke --key-id ID) and remove it\n');
    expect(run.code).toBe(1);
  });

  it('scans the current folder by default, and a file named on the command line', async () => {
    expect(await keyward([], join(dir, 'tree'))).toMatchObject({ code: 1, stdout: expect.stringMatching(/^\.env:3:17: .*\nconfig\/partner\.json:3:16: /) });
    expect(await keyward(['tree/config/partner.json'])).toMatchObject({ code: 1, stdout: `tree/config/partner.json:3:16: Keyward API key ${test.keyId} (env test)\n` });
  });

  it('a clean tree (a typo of a key, a key in node_modules): no output, exit 0', async () => {
    expect(await keyward(['clean'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('a path that does not exist: exit 2 with the usage', async () => {
    const run = await keyward(['tree', 'missing']);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toContain('keyward: no file or folder at missing\n\nUsage: keyward scan [paths...] [--staged]');
  });

  it('--help describes it, and `keyward --help` lists it', async () => {
    expect(await keyward(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('path:line:column: Keyward API key <keyId> (env <env>)') });
    expect((await runCli(['--help'], {}, dir, runs)).stdout).toMatch(/Commands:\n {2}scan +Find leaked Keyward API keys/);
  });

  it('--staged scans the copy in the index: a key staged and then deleted from the working tree is found, an unstaged one is not', async () => {
    const repo = join(dir, 'repo');
    await put(join(repo, 'config', 'app.env'), `KEYWARD_API_KEY=${live.key}\n`);
    await put(join(repo, 'notes.txt'), 'nothing here\n');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
    git('init', '-q');
    git('add', 'config/app.env', 'notes.txt');
    await writeFile(join(repo, 'config', 'app.env'), 'KEYWARD_API_KEY=\n');
    await writeFile(join(repo, 'unstaged.env'), `KEYWARD_API_KEY=${test.key}\n`);
    expect(await keyward(['--staged'], repo)).toMatchObject({ code: 1, stdout: `config/app.env:1:17: Keyward API key ${live.keyId} (env live)\n` });
    expect(await keyward(['--staged'], join(repo, 'config'))).toMatchObject({ code: 1, stdout: `app.env:1:17: Keyward API key ${live.keyId} (env live)\n` });
    git('add', 'config/app.env');
    expect(await keyward(['--staged'], repo)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('--staged outside a git repository, or with paths: exit 2', async () => {
    expect(await keyward(['--staged'], join(dir, 'clean'))).toMatchObject({ code: 2, stderr: expect.stringContaining('--staged needs git and a git repository') });
    expect(await keyward(['--staged', 'tree'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--staged scans what is staged; it takes no paths') });
  });
});
