import { KeywardError, type KeywardErrorCode, type SealedEnvelope } from '@keyward/core';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import type { Command, CommandGroup } from './commands.js';
import { kekOfLine, linesOf, parseEnvelopeLine } from './envelope-file.js';
import { CONTEXT_HELP, CONTEXT_OPTIONS, contextOf, fileError, FOOTER, KEK_OPTIONS, str, withEnvelope, withKek } from './envelope-options.js';
import { rewrap } from './envelope-rewrap.js';
import { readStdin, UsageError } from './io.js';

/** Plaintexts and envelopes on stdin: a field's value, not a file. */
const MAX_STDIN_BYTES = 16 * 1024 * 1024;

const encrypt: Command = {
  summary: 'Seal the plaintext on stdin; prints the envelope',
  synopsis: '[--context KEY=VALUE]... [--json] < plaintext',
  help: `Reads the plaintext from stdin (never from an argument, which 'ps' shows to every user),
drops one trailing newline (as echo adds one) unless --keep-newline, and prints the envelope:
  printf '%s' "$PARTNER_TOKEN" | keyward envelope encrypt --context table=partners --context id=7

Options:
${CONTEXT_HELP}
  --json                the envelope's JSON form (for a jsonb column) instead of kw1.…
  --keep-newline        seal stdin's bytes exactly as they are`,
  options: { ...KEK_OPTIONS, ...CONTEXT_OPTIONS, json: { type: 'boolean' }, 'keep-newline': { type: 'boolean' } },
  async run(context) {
    const encryptionContext = contextOf(context);
    return withEnvelope(context, async (envelope) => {
      const input = await readStdin(context.io, 'the plaintext', MAX_STDIN_BYTES);
      const end = context.values['keep-newline'] === true ? input.length : input.length - trailingNewline(input);
      const plaintext = input.subarray(0, end);
      try {
        context.output.hide(plaintext.toString('utf8'));
        if (plaintext.length === 0) throw new KeywardError('CONFIG_INVALID', 'nothing to encrypt: stdin was empty (pipe the plaintext in)');
        const json = context.values['json'] === true;
        const sealed = json ? JSON.stringify(await envelope.encrypt(plaintext, { context: encryptionContext, form: 'json' })) : await envelope.encrypt(plaintext, { context: encryptionContext });
        context.output.out(`${sealed}\n`);
      } finally {
        input.fill(0);
      }
      return 0;
    });
  },
};

const decrypt: Command = {
  summary: 'Open the envelope on stdin; prints the plaintext (only) on stdout',
  synopsis: '[--context KEY=VALUE]... [-n] < envelope',
  help: `Reads one envelope (kw1.… or its JSON form) from stdin and prints its plaintext, then a newline:
  psql -Atc "select secret from partners where id = 7" | keyward envelope decrypt --context table=partners --context id=7

Options:
${CONTEXT_HELP}
  -n, --no-newline      print the plaintext only, without the newline after it

Fails with DECRYPT_FAILED, and no detail, for a tampered envelope, another key, or another context.`,
  options: { ...KEK_OPTIONS, ...CONTEXT_OPTIONS, 'no-newline': { type: 'boolean', short: 'n' } },
  async run(context) {
    const encryptionContext = contextOf(context);
    return withEnvelope(context, async (envelope) => {
      const sealed = sealedOf((await readStdin(context.io, 'the envelope', MAX_STDIN_BYTES)).toString('utf8').trim());
      const plaintext = await envelope.decrypt(sealed, { context: encryptionContext });
      try {
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
        } catch {
          throw new KeywardError('SECRET_INVALID', 'the plaintext is not UTF-8 text, the only kind keyward envelope decrypt prints');
        }
        context.output.hide(text);
        context.output.reveal(context.values['no-newline'] === true ? text : `${text}\n`);
      } finally {
        plaintext.fill(0);
      }
      return 0;
    });
  },
};

const inspect: Command = {
  summary: 'Count envelopes per KEK version (no key, no key service call)',
  synopsis: '[--file PATH] [--json] < envelopes',
  help: `Reads envelopes one a line, from --file or stdin: kw1.… strings, their JSON form, or records
{"id": ..., "envelope": ..., "context": {...}} as 'keyward envelope rewrap' takes them, and prints how
many each KEK version wrapped: how many are still on an old version after a rotation.
  psql -Atc "select secret from partners" | keyward envelope inspect

Options:
  --file PATH   read this file instead of stdin
  --json        one JSON object: { envelopes, byKek: [{ provider, keyId, keyVersion, count }], unreadable: [{ line, code }] }

It needs no KEK: --kek and --config are accepted, and not used.
Exit 1 when a line is not an envelope (each reported on stderr by line number), 0 otherwise.`,
  options: { ...KEK_OPTIONS, file: { type: 'string' }, json: { type: 'boolean' } },
  async run(context) {
    const file = str(context.values['file']);
    const source = file === undefined ? (context.io.stdin ?? []) : createReadStream(resolve(context.io.cwd, file));
    const counts = new Map<string, { provider: string; keyId: string; keyVersion: string; count: number }>();
    const unreadable: { line: number; code: KeywardErrorCode }[] = [];
    let number = 0;
    try {
      for await (const text of linesOf(source)) {
        number += 1;
        const kek = kekOfLine(parseEnvelopeLine(text));
        if (kek === undefined) continue;
        if ('code' in kek) {
          unreadable.push({ line: number, code: kek.code });
          continue;
        }
        const key = JSON.stringify([kek.provider, kek.keyId, kek.keyVersion]);
        const entry = counts.get(key) ?? { provider: kek.provider, keyId: kek.keyId, keyVersion: kek.keyVersion, count: 0 };
        entry.count += 1;
        counts.set(key, entry);
      }
    } catch (err) {
      throw fileError(err, file === undefined ? 'stdin' : resolve(context.io.cwd, file));
    }
    const byKek = [...counts.values()].sort((a, b) => a.provider.localeCompare(b.provider) || a.keyId.localeCompare(b.keyId) || versionOrder(a.keyVersion, b.keyVersion));
    const envelopes = byKek.reduce((sum, e) => sum + e.count, 0);
    if (context.values['json'] === true) {
      context.output.out(`${JSON.stringify({ envelopes, byKek, unreadable })}\n`);
    } else {
      const rows = [['PROVIDER', 'KEY ID', 'VERSION', 'ENVELOPES'], ...byKek.map((e) => [e.provider, e.keyId, e.keyVersion, String(e.count)])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      if (byKek.length > 0) context.output.out(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n');
      context.output.out(`${plural(envelopes, 'envelope')}${unreadable.length > 0 ? `, ${plural(unreadable.length, 'unreadable line')}` : ''}\n`);
    }
    for (const { line, code } of unreadable) context.output.err(`keyward: ${code}: line ${line} is not an envelope\n`);
    return unreadable.length > 0 ? 1 : 0;
  },
};

const rotateKek: Command = {
  summary: 'Make a new KEK version current in its key service (transit, KMS); prints it',
  synopsis: '[--json] | --generate (local)',
  help: `vault-transit: POST <mount>/keys/<key>/rotate; aws-kms: RotateKeyOnDemand. New envelopes use the new
version at once; old ones still open, and 'keyward envelope rewrap' moves them to it. Prints the new
current version on stdout.

A local key set is the operator's to change: add a higher version to it ("3": "<base64 32 bytes>"),
keeping the old ones until every envelope is re-wrapped. keyward refuses to rotate it, and prints
a fresh key for the new version with --generate, to pipe into your secret store.

Options:
  --generate   local KEK only: print a new random base64 32-byte key on stdout
  --json       one JSON object: { kek: { provider, keyId }, previousVersion, currentVersion }`,
  options: { ...KEK_OPTIONS, generate: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(context) {
    return withKek(context, async (opened) => {
      const { kek, description } = opened;
      // Fresh reads: a rotation made by someone else seconds ago shows, and so does ours.
      const previousVersion = await kek.currentVersion({ fresh: true });
      if (opened.rotate === undefined) {
        const next = nextVersion(previousVersion);
        if (context.values['generate'] !== true) {
          throw new KeywardError(
            'CONFIG_INVALID',
            `${description} is rotated by editing it, not by keyward: add version "${next}" with a new base64 32-byte key ('keyward envelope rotate-kek --generate' prints one), keep the older versions, then run 'keyward envelope rewrap'`,
          );
        }
        context.output.key(randomBytes(32).toString('base64'));
        context.output.err(`A new key for ${description}: add it as version "${next}" (current: ${previousVersion}), keep the older versions, then run 'keyward envelope rewrap'.\n`);
        return 0;
      }
      if (context.values['generate'] === true) throw new UsageError('--generate is for a local KEK only; this one rotates in its key service', context.usage);
      await opened.rotate(AbortSignal.timeout(15_000));
      const currentVersion = await kek.currentVersion({ fresh: true });
      if (context.values['json'] === true) {
        context.output.out(`${JSON.stringify({ action: 'rotate-kek', kek: { provider: kek.provider, keyId: kek.keyId }, previousVersion, currentVersion })}\n`);
      } else {
        context.output.out(`${currentVersion}\n`);
        context.output.err(`Rotated ${description}: current version ${currentVersion} (was ${previousVersion}). New envelopes use it now; 'keyward envelope rewrap' moves the old ones.\n`);
      }
      return 0;
    });
  },
};

/**
 * The `keyward envelope` command group: seal and open values with envelope encryption, count
 * envelopes per KEK version, re-wrap a file of them, and rotate the KEK.
 *
 * @example
 * // keyward envelope rewrap --kek vault-transit:notes --file notes.jsonl
 * const group = envelopeCommands;
 */
export const envelopeCommands: CommandGroup = {
  name: 'envelope',
  summary: 'Envelope encryption: seal and open values, count and re-wrap envelopes, rotate the KEK.',
  footer: FOOTER,
  commands: { encrypt, decrypt, inspect, rewrap, 'rotate-kek': rotateKek },
};

/** An envelope as read from stdin: its JSON form when it looks like JSON, else the compact string. */
function sealedOf(text: string): SealedEnvelope {
  if (text === '') throw new KeywardError('CONFIG_INVALID', 'no envelope on stdin (pipe one in)');
  if (!text.startsWith('{')) return text;
  try {
    return JSON.parse(text) as SealedEnvelope;
  } catch {
    // Never JSON.parse's message: it quotes the text.
    throw new KeywardError('ENVELOPE_MALFORMED', 'the envelope on stdin is not valid JSON');
  }
}

function trailingNewline(bytes: Buffer): number {
  if (bytes.at(-1) !== 0x0a) return 0;
  return bytes.at(-2) === 0x0d ? 2 : 1;
}

function nextVersion(current: string): string {
  return /^\d+$/.test(current) ? String(Number(current) + 1) : 'N+1';
}

function versionOrder(a: string, b: string): number {
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

