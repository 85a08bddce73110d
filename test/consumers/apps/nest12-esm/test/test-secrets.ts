// The variables envProvider() reads, as a deployment sets them. Specs import this first: the
// app module reads AUDIT_FILE when it is evaluated.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, emptyKeyRing } from '@keyward/core';

export const stripeKey = `sk_test_${randomBytes(16).toString('hex')}`;
export const pepper = randomBytes(32).toString('hex');
export const auditKey = randomBytes(32).toString('hex');
export const issued = createApiKey(emptyKeyRing(), { client: 'partner', env: 'live', scopes: ['charges:read'], pepper });
export const envelopeKek = JSON.stringify({ '1': randomBytes(32).toString('base64') });
export const auditDir = mkdtempSync(join(tmpdir(), 'shop-audit-'));
export const auditFile = join(auditDir, 'audit.jsonl');

Object.assign(process.env, {
  STRIPE_KEY: stripeKey,
  API_KEYS: JSON.stringify(issued.ring),
  API_KEY_PEPPER: pepper,
  AUDIT_KEY: auditKey,
  AUDIT_FILE: auditFile,
  ENVELOPE_KEK: envelopeKek,
});
