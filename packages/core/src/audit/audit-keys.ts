import { createHmac, hkdfSync } from 'node:crypto';
import { KeywardError } from '../errors/index.js';

/** The audit key: 32+ random bytes, a declared secret. Two keys are derived from it, one per use. */
export type AuditKey = string | Buffer;

/** The two keys derived from the audit key: one seals the chain, one hashes sensitive fields. */
export interface AuditKeys {
  readonly chain: Buffer;
  readonly fields: Buffer;
}

const MIN_KEY_BYTES = 16;

/**
 * Derives the chain key and the field key (HKDF-SHA256), so that handing out the field key for
 * searches does not let anyone re-seal an edited trail.
 *
 * @example const keys = deriveAuditKeys(store.get('auditKey').reveal());
 */
export function deriveAuditKeys(key: AuditKey): AuditKeys {
  const material = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (!Buffer.isBuffer(material) || material.length < MIN_KEY_BYTES) {
    throw new KeywardError('CONFIG_INVALID', `the audit key must be at least ${MIN_KEY_BYTES} bytes (32 random bytes recommended)`);
  }
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), info, 32));
  return { chain: derive('keyward-audit-chain-v1'), fields: derive('keyward-audit-fields-v1') };
}

/**
 * How a sensitive value appears in the trail: `hmac-sha256:<hex>` under the field key. Compute
 * it for a value you know (an IP, a user id) and search the trail for the result.
 *
 * @example
 * const needle = auditHash('203.0.113.7', auditKey);   // grep -F "$needle" logs/audit.jsonl
 */
export function auditHash(value: string, key: AuditKey | AuditKeys): string {
  const fields = isDerived(key) ? key.fields : deriveAuditKeys(key).fields;
  return `hmac-sha256:${createHmac('sha256', fields).update(value, 'utf8').digest('hex')}`;
}

function isDerived(key: AuditKey | AuditKeys): key is AuditKeys {
  return typeof key === 'object' && !Buffer.isBuffer(key) && Buffer.isBuffer((key as AuditKeys).chain);
}
