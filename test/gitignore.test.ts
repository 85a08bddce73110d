import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';

/** Which of `paths` git would ignore in this repository (the seed's principle 1: never commit secrets). */
function ignored(paths: string[]): string[] {
  try {
    return execFileSync('git', ['check-ignore', '--no-index', ...paths], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch (err) {
    // Exit status 1: none of them is ignored.
    if ((err as { status?: number }).status === 1) return [];
    throw err;
  }
}

describe('.gitignore', () => {
  it('keeps secret files out of the repository and lets the .env.example templates in', () => {
    const secretFiles = ['.env', 'apps/demo-nest/.env', '.env.local', '.env.production', 'tls/server.pem', 'deploy/id.key', 'credentials.json', 'aws/credentials.json', '.keyward/cli.json', 'apps/demo-nest/.keyward/api-keys.json', 'apps/demo-express/.keyward/api-key-pepper/value'];
    const templates = ['.env.example', 'apps/demo-nest/.env.example', 'apps/demo-express/.env.example'];
    expect(ignored([...secretFiles, ...templates]).sort()).toEqual([...secretFiles].sort());
  });
});
