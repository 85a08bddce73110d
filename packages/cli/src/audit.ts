import { auditHash, verifyAuditFile } from '@keyward/core';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command, CommandContext, CommandGroup, OptionSpecs } from './commands.js';
import { resolveSettings } from './config.js';
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
  summary: "Check a trail file's hash chain: reports the first edited, deleted, reordered or malformed line",
  synopsis: '<file> --key URI [--json]',
  help: `Arguments:
  <file>   the trail's JSON lines (e.g. logs/audit.jsonl)

Exit 0 when every record is chained ("ok: N records, head seq S hash H": keep the head elsewhere
to notice later truncation), 1 when the chain is broken (keyward: AUDIT_CHAIN_BROKEN: line L: ...)
or the file cannot be read, 2 for a usage error.`,
  options: { ...KEY_OPTIONS },
  positionals: { min: 1, max: 1, names: '<file>' },
  async run(context) {
    const file = resolve(context.io.cwd, context.positionals[0]!);
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
      let result: Awaited<ReturnType<typeof verifyAuditFile>>;
      try {
        result = await verifyAuditFile(file, key);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') return failure(context, 'PERMISSION_DENIED', `cannot read ${file} (${code})`);
        throw err;
      }
      const { ok, records, head } = result;
      if (context.values['json'] === true) {
        context.output.out(`${JSON.stringify({ file, ok, records, head, ...(result.break === undefined ? {} : { break: result.break }) })}\n`);
      } else if (ok) {
        context.output.out(`ok: ${records} record${records === 1 ? '' : 's'}, head seq ${head.seq} hash ${head.hash}\n`);
      }
      if (result.break !== undefined) {
        const { line, problem, message } = result.break;
        return failure(context, 'AUDIT_CHAIN_BROKEN', `line ${line}: ${problem}: ${message} (${records} record${records === 1 ? '' : 's'} verified before it, in ${file})`);
      }
      return 0;
    });
  },
};

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
