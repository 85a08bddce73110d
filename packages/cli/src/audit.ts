import { auditHash, verifyAuditFile, type AuditVerification } from '@keyward/core';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command, CommandContext, CommandGroup, OptionSpecs } from './commands.js';
import { resolveSettings } from './config.js';
import { UsageError } from './io.js';
import { Resources } from './locations.js';

/** Options every `audit` command takes: where the audit key is. */
const KEY_OPTIONS = {
  key: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

const KEY_FORMS = 'env:NAME, file:PATH, vault:MOUNT/PATH#field or aws:SECRET_ID#field';

const FOOTER = `Where the audit key is (flag > environment variable > config file):
  --key URI       the service's audit key: env:NAME, file:PATH,
                  vault:MOUNT/PATH#field, aws:SECRET_ID#field                       (KEYWARD_AUDIT_KEY, "auditKey")
  --config FILE   JSON config (default: KEYWARD_CONFIG, else ./.keyward/cli.json when it exists)
  --json          one JSON object on stdout instead of text
Vault: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE ("vault": { "addr", "token", "namespace" }).
AWS: AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL ("aws": { "region", "endpoint" }),
     credentials from the SDK's default chain.`;

/**
 * Reads the audit key from `--key` (else `KEYWARD_AUDIT_KEY`, else "auditKey"): the same forms and
 * backends as the pepper, read by the same code. The key is registered with the output's
 * scrubber, and every connection opened to read it is closed before `work` runs.
 */
async function withAuditKey<T>(context: CommandContext, work: (key: string) => Promise<T>): Promise<T> {
  const { values, io, output } = context;
  const settings = await resolveSettings({ auditKey: str(values['key']), config: str(values['config']) }, io, output);
  const resources = new Resources(settings, io, output);
  let key: string;
  try {
    key = await resources.secret(
      settings.auditKey,
      'audit key',
      `no audit key location: pass --key (${KEY_FORMS}), set KEYWARD_AUDIT_KEY, or put "auditKey" in .keyward/cli.json`,
    );
  } finally {
    await resources.close();
  }
  return work(key);
}

/** A failure of the command itself (not a KeywardError): `keyward: <CODE>: <message>`, exit 1. */
function failure(context: CommandContext, code: string, message: string): number {
  context.output.err(`keyward: ${code}: ${message}\n`);
  return 1;
}

const verify: Command = {
  summary: "Check a trail file's hash chain: reports every edited, deleted, reordered or malformed line",
  synopsis: '<file> --key URI [--expect-head SEQ:HASH] [--json]',
  help: `Arguments:
  <file>   the trail's JSON lines (e.g. logs/audit.jsonl)

Options:
  --expect-head SEQ:HASH   a head noted earlier (the "head seq S hash H" of an earlier run):
                           the file must still hold that record. Records cut off at the end
                           leave no gap in what remains: a head kept outside the file is the
                           only proof that none were.

Exit 0 when every record is chained ("ok: N records, head seq S hash H": keep the head elsewhere
and pass it to --expect-head later), 1 when the chain is broken (one line per break:
keyward: AUDIT_CHAIN_BROKEN: line L: PROBLEM: ...; the check resumes after each break), when the
kept head is not in the file (keyward: AUDIT_HEAD_MISSING: ...) or the file cannot be read,
2 for a usage error.`,
  options: { ...KEY_OPTIONS, 'expect-head': { type: 'string' } },
  positionals: { min: 1, max: 1, names: '<file>' },
  async run(context) {
    const file = resolve(context.io.cwd, context.positionals[0]!);
    const expectHead = parseHead(context);
    try {
      const info = await stat(file);
      if (!info.isFile()) return failure(context, 'AUDIT_FILE_NOT_FOUND', `${file} is not a file`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return failure(context, 'AUDIT_FILE_NOT_FOUND', `no audit trail at ${file}`);
      if (code === 'EACCES' || code === 'EPERM') return failure(context, 'PERMISSION_DENIED', `cannot read ${file} (${code})`);
      throw err;
    }
    return withAuditKey(context, async (key) => {
      let result: AuditVerification;
      try {
        result = await verifyAuditFile(file, key, expectHead === undefined ? {} : { expectHead });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') return failure(context, 'PERMISSION_DENIED', `cannot read ${file} (${code})`);
        throw err;
      }
      const { ok, records, head, breaks, keptHead } = result;
      if (context.values['json'] === true) {
        context.output.out(`${JSON.stringify({ file, ...result })}\n`);
      } else if (ok) {
        context.output.out(`ok: ${records} record${records === 1 ? '' : 's'}, head seq ${head.seq} hash ${head.hash}\n`);
        if (keptHead !== undefined) context.output.out(`kept head seq ${keptHead.seq} ${keptHead.message.replace(/^record \d+ /, '')}\n`);
      }
      for (const { line, endLine, problem, message } of breaks) {
        const where = endLine === undefined ? `line ${line}` : `lines ${line}..${endLine}`;
        failure(context, 'AUDIT_CHAIN_BROKEN', `${where}: ${problem}: ${message} (in ${file})`);
      }
      if (keptHead?.found === false) failure(context, 'AUDIT_HEAD_MISSING', `kept head seq ${keptHead.seq} hash ${keptHead.hash}: ${keptHead.message} (in ${file})`);
      return ok ? 0 : 1;
    });
  },
};

/** `--expect-head SEQ:HASH`, checked before anything is read. */
function parseHead(context: CommandContext): { seq: number; hash: string } | undefined {
  const value = str(context.values['expect-head']);
  if (value === undefined) return undefined;
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(value);
  if (match === null) throw new UsageError('--expect-head takes SEQ:HASH (a record number, a colon, 64 hex digits), as "head seq S hash H" printed them', context.usage);
  return { seq: Number(match[1]), hash: match[2]! };
}

const hash: Command = {
  summary: 'Print how a value (an IP, a user id) appears in the trail, to search for it',
  synopsis: '<value> --key URI [--json]',
  help: `Arguments:
  <value>   the value as the service saw it, e.g. 203.0.113.7

Prints hmac-sha256:<hex>, the HMAC of the value under the trail's field key:
  grep -F "$(keyward audit hash 203.0.113.7 --key env:AUDIT_KEY)" logs/audit.jsonl`,
  options: { ...KEY_OPTIONS },
  positionals: { min: 1, max: 1, names: '<value>' },
  async run(context) {
    const value = context.positionals[0]!;
    return withAuditKey(context, async (key) => {
      const needle = auditHash(value, key);
      context.output.out(context.values['json'] === true ? `${JSON.stringify({ hash: needle })}\n` : `${needle}\n`);
      return 0;
    });
  },
};

/**
 * The `keyward audit` command group: verify a trail file's hash chain, and compute the
 * `hmac-sha256:` form of a value to search the trail for it.
 *
 * @example
 * // keyward audit verify logs/audit.jsonl --key vault:secret/billing/live/audit-key#value
 * const group = auditCommands;
 */
export const auditCommands: CommandGroup = {
  name: 'audit',
  summary: 'Verify audit trail files and search them for a known value.',
  footer: FOOTER,
  commands: { verify, hash },
};

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
