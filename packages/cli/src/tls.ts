import { checkTlsCertificate, parseDuration } from '@keyward/core';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command, CommandContext, CommandGroup } from './commands.js';
import { UsageError } from './io.js';

/** Certificate files are small; anything larger is not one. */
const MAX_BYTES = 1024 * 1024;
const DAY_MS = 86_400_000;

const check: Command = {
  summary: 'Check a certificate and key as tlsFromSecret would, before you upload them: exit 1 if refused',
  synopsis: '<path> [more paths...] [--trust root.pem] [--in 7d]',
  help: `Arguments:
  <path>...    PEM files (certificate, key, chain, in any order, read as one bundle), or one
               folder of a Kubernetes TLS secret's files (tls.crt, tls.key, ca.crt), or one JSON
               file holding a Vault PKI answer's data or ACM's export (Certificate, PrivateKey,
               CertificateChain)

Options:
  --trust <file>   more roots (PEM) the chain may end at, besides Node's and a self-signed CA in the input
  --in <duration>  check validity that far ahead (7d: will it still serve in a week?)

Checks that the key is the certificate's, that the certificate and its chain are valid now (or
then), and that the chain reaches a trusted root. Prints the serial, subject, issuer, dates and
how many certificates would be served; never the key.
Exit 0 when it would be served, 1 when it would be refused (the problem named), 2 for a usage error.`,
  options: { trust: { type: 'string' }, in: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  positionals: { min: 1, max: 16, names: '<path>' },
  async run(context) {
    const value = await readInput(context);
    const trustFile = typeof context.values['trust'] === 'string' ? resolve(context.io.cwd, context.values['trust']) : undefined;
    const trust = trustFile === undefined ? undefined : await readSmall(trustFile, context);
    const ahead = typeof context.values['in'] === 'string' ? context.values['in'] : undefined;
    const at = ahead === undefined ? undefined : new Date(Date.now() + parseDuration(ahead, '--in'));
    const info = checkTlsCertificate(value, { ...(trust === undefined ? {} : { trust }), ...(at === undefined ? {} : { at }) });
    const left = Math.floor((Date.parse(info.notAfter) - Date.now()) / DAY_MS);
    context.output.out(
      [
        `ok: would be served${at === undefined ? '' : ` (checked at ${at.toISOString()})`}`,
        `  serial       ${info.serial}`,
        `  subject      ${info.subject}`,
        `  issuer       ${info.issuer}`,
        `  valid        ${info.notBefore} to ${info.notAfter} (${left} day${left === 1 ? '' : 's'} left)`,
        `  chain        ${info.chainLength} certificate${info.chainLength === 1 ? '' : 's'} served`,
        `  sha-256      ${info.fingerprint256}`,
      ].join('\n') + '\n',
    );
    return 0;
  },
};

/** The paths as one value: a folder's files as a map, a JSON file's object, or the files' PEM text joined. */
async function readInput(context: CommandContext): Promise<unknown> {
  const paths = context.positionals.map((p) => resolve(context.io.cwd, p));
  const kinds = await Promise.all(paths.map((p) => stat(p).catch(() => undefined)));
  const missing = kinds.findIndex((k) => k === undefined);
  if (missing >= 0) throw new UsageError(`no file or folder at ${context.positionals[missing]}`, context.usage);
  if (kinds.some((k) => k!.isDirectory())) {
    if (paths.length > 1) throw new UsageError('give one folder, or files', context.usage);
    const folder = paths[0]!;
    const map: Record<string, string> = {};
    for (const name of await readdir(folder)) {
      if (name.startsWith('.')) continue; // the kubelet's ..data and its timestamped folders
      const info = await stat(join(folder, name));
      if (info.isFile()) map[name] = await readSmall(join(folder, name), context);
    }
    return map;
  }
  const texts = await Promise.all(paths.map((p) => readSmall(p, context)));
  if (texts.length === 1 && texts[0]!.trimStart().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(texts[0]!);
      // A Vault answer as `vault write -format=json` prints it has the fields under `data`.
      const data = (parsed as { data?: unknown }).data;
      return typeof data === 'object' && data !== null ? { ...data } : parsed;
    } catch {
      // JSON.parse's message quotes the text, which may hold the key: say only that it is not JSON.
      throw new UsageError(`${context.positionals[0]} starts like JSON but does not parse`, context.usage);
    }
  }
  return texts.join('\n');
}

async function readSmall(path: string, context: CommandContext): Promise<string> {
  const bytes = await readFile(path).catch(() => {
    throw new UsageError(`cannot read ${path}`, context.usage);
  });
  if (bytes.length > MAX_BYTES) throw new UsageError(`${path} is over ${MAX_BYTES} bytes: not a certificate file`, context.usage);
  return bytes.toString('utf8');
}

/**
 * The `keyward tls` command group: check a certificate and key before they go into a secret, with
 * the checks `tlsFromSecret` makes before it serves one.
 *
 * @example
 * // keyward tls check tls.crt tls.key --trust private-root.pem --in 7d
 * const group = tlsCommands;
 */
export const tlsCommands: CommandGroup = {
  name: 'tls',
  summary: 'Check TLS certificates and keys before they are uploaded to a secret.',
  commands: { check },
};
