import { createHmac } from 'node:crypto';
import { parseEnvelope, type Envelope, type KekReference, type RewrapSummary } from '@keyward/core';
import type { DemoDatabase } from './database.js';

/** The demo's table of partners' webhook signing secrets, each stored as an envelope (`kw1.…`), never in clear. */
export const PARTNER_WEBHOOKS_TABLE = 'CREATE TABLE IF NOT EXISTS partner_webhooks (partner text PRIMARY KEY, secret text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())';

/** What the app's database login may do with the table (`{{name}}` in a Vault role's statements, or a role name). */
export const partnerWebhooksGrant = (role: string) => `GRANT SELECT, INSERT, UPDATE ON partner_webhooks TO ${role}`;

/** A partner id in a URL: lower-case letters, digits and hyphens, up to 64. */
export const isPartnerId = (value: unknown): value is string => typeof value === 'string' && /^[a-z0-9][a-z0-9-]{0,63}$/.test(value);

/** A webhook signing secret as partners hand them out: 16 to 4096 characters. */
export const isWebhookSecret = (value: unknown): value is string => typeof value === 'string' && value.length >= 16 && value.length <= 4096;

/** The demo's use of envelope encryption: partners' webhook secrets sealed in PostgreSQL, used to sign without ever being shown. */
export interface DemoPartnerWebhooks {
  /** Seals and stores a partner's secret; answers which KEK version wrapped it (never the secret). */
  setSecret(partner: string, secret: string): Promise<{ partner: string; kek: KekReference }>;
  /** Signs a test event with the partner's secret, as a webhook delivery would; `undefined` for an unknown partner. */
  signTestEvent(partner: string): Promise<{ partner: string; event: string; signature: string } | undefined>;
  /** How many secrets are stored under each KEK version: what is left to re-wrap after a rotation. */
  status(): Promise<{ rows: number; byKekVersion: Record<string, number> }>;
  /** Re-wraps every stored secret's data key under the KEK's newest version; the ciphertexts stay as they are. */
  rewrap(): Promise<RewrapSummary<string>>;
}

const contextOf = (partner: string) => ({ table: 'partner_webhooks', partner });
const TEST_EVENT = JSON.stringify({ type: 'webhook.test', id: 'evt_test' });

/**
 * Partners' webhook secrets through the envelope and the demo's pool (which follows the database
 * credentials' rotations); `undefined` when the demo runs without a database.
 *
 * @example
 * const webhooks = demoPartnerWebhooks(database, envelope);
 * await webhooks?.setSecret('acme', 'whsec_…'); // stored as kw1.… in partner_webhooks
 */
export function demoPartnerWebhooks(database: DemoDatabase, envelope: Envelope): DemoPartnerWebhooks | undefined {
  const query = database.query;
  if (query === undefined) return undefined;
  return {
    async setSecret(partner, secret) {
      const sealed = await envelope.encrypt(secret, { context: contextOf(partner) });
      await query(
        'INSERT INTO partner_webhooks (partner, secret) VALUES ($1, $2) ON CONFLICT (partner) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()',
        [partner, sealed],
      );
      return { partner, kek: parseEnvelope(sealed).kek };
    },
    async signTestEvent(partner) {
      const { rows } = await query<{ secret: string }>('SELECT secret FROM partner_webhooks WHERE partner = $1', [partner]);
      if (rows[0] === undefined) return undefined;
      const secret = await envelope.decrypt(rows[0].secret, { context: contextOf(partner) });
      try {
        return { partner, event: TEST_EVENT, signature: `sha256=${createHmac('sha256', secret).update(TEST_EVENT).digest('hex')}` };
      } finally {
        secret.fill(0);
      }
    },
    async status() {
      const { rows } = await query<{ secret: string }>('SELECT secret FROM partner_webhooks');
      const byKekVersion: Record<string, number> = {};
      for (const row of rows) {
        const version = parseEnvelope(row.secret).kek.keyVersion;
        byKekVersion[version] = (byKekVersion[version] ?? 0) + 1;
      }
      return { rows: rows.length, byKekVersion };
    },
    async rewrap() {
      const { rows } = await query<{ partner: string; secret: string }>('SELECT partner, secret FROM partner_webhooks ORDER BY partner');
      return envelope.rewrapAll(
        rows.map((row) => ({ id: row.partner, envelope: row.secret, context: contextOf(row.partner) })),
        { save: async ({ id }, sealed) => void (await query('UPDATE partner_webhooks SET secret = $2 WHERE partner = $1', [id, sealed])) },
      );
    },
  };
}
