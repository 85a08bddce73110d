import { keyRingAdmin, parseDuration, type KeyRingAdmin, type KeyRingEntry, type KeyRingWrite } from '@keyward/core';
import type { Command, CommandContext, CommandGroup, OptionSpecs } from './commands.js';
import { resolveSettings, type CliSettings } from './config.js';
import { UsageError } from './io.js';
import { Resources } from './locations.js';

/** Options every `api-keys` command takes: where the ring, the pepper and Redis are. */
const LOCATION_OPTIONS = {
  ring: { type: 'string' },
  pepper: { type: 'string' },
  env: { type: 'string' },
  redis: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

const FOOTER = `Where things are (flag > environment variable > config file):
  --ring URI      the key ring: file:PATH, vault:MOUNT/PATH, aws:SECRET_ID          (KEYWARD_RING, "ring")
  --pepper URI    the pepper (create, rotate): env:NAME, file:PATH,
                  vault:MOUNT/PATH#field, aws:SECRET_ID#field                       (KEYWARD_PEPPER, "pepper")
  --env ENV       the <env> part of new keys, e.g. live or test (default live)      (KEYWARD_KEY_ENV, "env")
  --redis URL     publish each change on Redis so instances refresh at once         (KEYWARD_REDIS_URL, "redis")
  --config FILE   JSON config (default: KEYWARD_CONFIG, else ./.keyward/cli.json when it exists)
  --json          one JSON object on stdout instead of text
Vault: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE ("vault": { "addr", "token", "namespace" }).
AWS: AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL ("aws": { "region", "endpoint" }),
     credentials from the SDK's default chain (or "aws": { "accessKeyId", "secretAccessKey" } for an emulator).`;

/** Runs `work` with an admin over the configured ring; closes every connection afterwards. */
async function withAdmin<T>(context: CommandContext, work: (admin: KeyRingAdmin, resources: Resources, settings: CliSettings, location: string) => Promise<T>): Promise<T> {
  const { values, io, output } = context;
  const settings = await resolveSettings(
    { ring: str(values['ring']), pepper: str(values['pepper']), env: str(values['env']), redis: str(values['redis']), config: str(values['config']) },
    io,
    output,
  );
  const resources = new Resources(settings, io, output);
  try {
    const backend = resources.ring();
    const publish = resources.publish();
    const admin = keyRingAdmin({ backend, pepper: () => resources.pepper(), env: settings.env, ...(publish === undefined ? {} : { publish }) });
    try {
      return await work(admin, resources, settings, backend.location);
    } finally {
      await backend.close?.();
    }
  } finally {
    await resources.close();
  }
}

const create: Command = {
  summary: 'Issue a first API key for a client; prints the key (only) on stdout',
  synopsis: '--client NAME --scopes a,b [--label TEXT] [--json]',
  help: `Options:
  --client NAME   who the key is for (rotation works per client)
  --scopes LIST   comma-separated scopes, e.g. reports:read,orders:write ('' for none)
  --label TEXT    a note kept in the ring (never secret)`,
  options: { ...LOCATION_OPTIONS, client: { type: 'string' }, scopes: { type: 'string' }, label: { type: 'string' } },
  async run(context) {
    const client = required(context, 'client');
    const scopes = scopeList(required(context, 'scopes'));
    const label = str(context.values['label']);
    return withAdmin(context, async (admin, _resources, settings, location) => {
      const result = await admin.create({ client, scopes, ...(label === undefined ? {} : { label }) });
      if (context.values['json'] === true) {
        context.output.key(JSON.stringify({ action: 'create', key: result.key, keyId: result.keyId, client, scopes, ...(label === undefined ? {} : { label }), env: settings.env, ...writeFields(result, location) }));
      } else {
        context.output.key(result.key);
        context.output.err(
          [
            `Created API key ${result.keyId} for client "${client}" (env ${settings.env}).`,
            `  scopes:     ${scopes.join(', ') || '(none)'}`,
            `  ring:       ${location}, revision ${result.revision}`,
            `  instances:  ${delivery(result, settings)}`,
            '  The key above is shown once; hand it to the client now.',
          ].join('\n') + '\n',
        );
      }
      return 0;
    });
  },
};

const rotate: Command = {
  summary: "Issue a new key for a client; its current key stays valid for the grace period",
  synopsis: '--client NAME --grace DURATION [--scopes a,b] [--label TEXT] [--json]',
  help: `Options:
  --client NAME      whose key to rotate
  --grace DURATION   how long the old key keeps working, e.g. 24h, 7d, 1h30m
                     (every number needs a unit: ms, s, m, h, d)
  --scopes LIST      scopes of the new key (default: the old key's)
  --label TEXT       a note kept in the ring`,
  options: { ...LOCATION_OPTIONS, client: { type: 'string' }, grace: { type: 'string' }, scopes: { type: 'string' }, label: { type: 'string' } },
  async run(context) {
    const client = required(context, 'client');
    const grace = required(context, 'grace');
    parseDuration(grace, '--grace');
    const scopesFlag = str(context.values['scopes']);
    const scopes = scopesFlag === undefined ? undefined : scopeList(scopesFlag);
    const label = str(context.values['label']);
    return withAdmin(context, async (admin, _resources, settings, location) => {
      const result = await admin.rotate({ client, grace, ...(scopes === undefined ? {} : { scopes }), ...(label === undefined ? {} : { label }) });
      const { previous } = result;
      const newScopes = result.entry.scopes;
      if (context.values['json'] === true) {
        context.output.key(
          JSON.stringify({
            action: 'rotate',
            key: result.key,
            keyId: result.keyId,
            client,
            scopes: newScopes,
            env: settings.env,
            previous: { keyId: previous.keyId, expiresAt: previous.expiresAt },
            ...writeFields(result, location),
          }),
        );
      } else {
        context.output.key(result.key);
        context.output.err(
          [
            `Rotated the API key of client "${client}": new key ${result.keyId} (env ${settings.env}).`,
            `  scopes:     ${newScopes.join(', ') || '(none)'}`,
            `  previous:   ${previous.keyId} keeps working until ${previous.expiresAt} (grace ${grace})`,
            `  ring:       ${location}, revision ${result.revision}`,
            `  instances:  ${delivery(result, settings)}`,
            '  The key above is shown once; hand it to the client now.',
          ].join('\n') + '\n',
        );
      }
      return 0;
    });
  },
};

const revoke: Command = {
  summary: 'Revoke a key at once (emergency: no grace)',
  synopsis: '--key-id ID [--json]',
  help: `Options:
  --key-id ID   the key to revoke (the 12 characters after kw_<env>_; see 'keyward api-keys list')`,
  options: { ...LOCATION_OPTIONS, 'key-id': { type: 'string' } },
  async run(context) {
    const keyId = required(context, 'key-id');
    return withAdmin(context, async (admin, _resources, settings, location) => {
      const result = await admin.revoke(keyId);
      const { entry } = result;
      if (context.values['json'] === true) {
        context.output.out(`${JSON.stringify({ action: 'revoke', keyId, client: entry.client, status: entry.status, revokedAt: entry.revokedAt, ...writeFields(result, location) })}\n`);
      } else {
        context.output.out(
          [
            `Revoked API key ${keyId} of client "${entry.client}" at ${entry.revokedAt}.`,
            `  ring:       ${location}, revision ${result.revision}`,
            `  instances:  ${delivery(result, settings)}`,
          ].join('\n') + '\n',
        );
      }
      return 0;
    });
  },
};

const list: Command = {
  summary: 'Show the keys of the ring (ids, clients, statuses; never hashes)',
  synopsis: '[--json]',
  help: 'Options: only those below.',
  options: { ...LOCATION_OPTIONS },
  async run(context) {
    return withAdmin(context, async (admin, _resources, _settings, location) => {
      const { revision, keys } = await admin.list();
      if (context.values['json'] === true) {
        context.output.out(`${JSON.stringify({ location, revision: revision ?? null, keys: keys.map(publicEntry) })}\n`);
      } else if (keys.length === 0) {
        context.output.out(`No API keys in ${location}.\n`);
      } else {
        context.output.out(table(keys));
      }
      return 0;
    });
  },
};

const prune: Command = {
  summary: 'Drop keys that expired or were revoked longer ago than the retention',
  synopsis: '--retention DURATION [--json]',
  help: `Options:
  --retention DURATION   keep ended keys this long (they answer EXPIRED/REVOKED, not UNKNOWN), e.g. 7d
                         (every number needs a unit: ms, s, m, h, d)`,
  options: { ...LOCATION_OPTIONS, retention: { type: 'string' } },
  async run(context) {
    const retention = required(context, 'retention');
    parseDuration(retention, '--retention');
    return withAdmin(context, async (admin, _resources, settings, location) => {
      const result = await admin.prune({ retention });
      const dropped = result.pruned;
      if (context.values['json'] === true) {
        context.output.out(`${JSON.stringify({ action: 'prune', pruned: dropped, ...writeFields(result, location) })}\n`);
      } else {
        context.output.out(
          [
            `Pruned ${dropped.length} key${dropped.length === 1 ? '' : 's'}${dropped.length > 0 ? ` (${dropped.join(', ')})` : ''}, keeping ended keys for ${retention}.`,
            `  ring:       ${location}, revision ${result.revision}`,
            `  instances:  ${delivery(result, settings)}`,
          ].join('\n') + '\n',
        );
      }
      return 0;
    });
  },
};

/**
 * The `keyward api-keys` command group: create, rotate, revoke, list and prune keys of a ring.
 *
 * @example
 * // keyward api-keys rotate --ring vault:secret/billing/live/api-keys --pepper vault:secret/billing/live/api-key-pepper#value --client partner-a --grace 24h
 * const group = apiKeysCommands;
 */
export const apiKeysCommands: CommandGroup = {
  name: 'api-keys',
  summary: 'Manage the API key ring that your services verify keys against.',
  footer: FOOTER,
  commands: { create, rotate, revoke, list, prune },
};

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function required(context: CommandContext, name: string): string {
  const value = str(context.values[name]);
  if (value === undefined) throw new UsageError(`missing --${name}`, context.usage);
  return value;
}

function scopeList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function writeFields(write: KeyRingWrite, location: string): Record<string, unknown> {
  return { location, revision: write.revision, published: write.published, ...(write.publishError === undefined ? {} : { publishError: write.publishError }) };
}

function delivery(write: KeyRingWrite, settings: CliSettings): string {
  if (write.published) return 'notified via Redis';
  if (settings.redis === undefined) return 'will see the change at their next poll (no --redis given)';
  return `NOT notified via Redis (${write.publishError ?? 'failed'}); they will see the change at their next poll`;
}

function publicEntry(entry: KeyRingEntry): Omit<KeyRingEntry, 'hmac'> {
  const { hmac: _hmac, ...rest } = entry;
  return rest;
}

function table(keys: readonly KeyRingEntry[]): string {
  const header = ['KEY ID', 'CLIENT', 'STATUS', 'SCOPES', 'CREATED', 'ENDS', 'LABEL'];
  const rows = keys.map((k) => [
    k.keyId,
    k.client,
    k.status,
    k.scopes.join(',') || '-',
    k.createdAt,
    k.revokedAt !== undefined ? `revoked ${k.revokedAt}` : k.expiresAt !== undefined ? `expires ${k.expiresAt}` : '-',
    k.label ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}
