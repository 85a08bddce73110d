import { isKeywardError } from '../errors/index.js';
import { parseKeyRing, type KeyRingEntry } from '../api-keys/key-ring.js';
import type { SecretStore } from '../store/secret-store.js';
import { currentAuditContext } from './audit-context.js';
import type { AuditEntry } from './audit-record.js';
import type { AuditTrail } from './audit-trail.js';

type Detail = string | number | boolean | null;

/**
 * Records what a store does and who reads what: inside a request (`auditHttp`), each secret read
 * is named in that request's record; outside one, the first read of each secret version by the
 * service is a `secret.read` record. Store events become `store.started`, `secret.rotated`,
 * `secret.refresh-failed`, `secret.stale`, `secret.recovered`, `lease.renewed`, `lease.revoked`,
 * `lease.revoke-failed` records with the service as actor. Returns a function that stops it.
 *
 * @example const stop = auditStore(trail, store);
 */
export function auditStore(trail: AuditTrail, store: SecretStore<any>): () => void {
  const readByService = new Set<string>();
  const write = (event: string, outcome: AuditEntry['outcome'], details: Record<string, Detail>, code?: string) => {
    trail
      .record({ event, actor: trail.service, outcome, details, ...(code === undefined ? {} : { error: { code } }) })
      .catch(() => {}); // counted in trail.health()
  };
  const listeners = {
    access: (e: { name: string; version: string; provider: string }) => {
      const context = currentAuditContext();
      if (context !== undefined) {
        if (!context.secrets.has(e.name)) context.secrets.set(e.name, e.version);
        return;
      }
      const key = `${e.name}@${e.version}`;
      if (readByService.has(key)) return;
      readByService.add(key);
      write('secret.read', 'success', { secret: e.name, version: e.version, provider: e.provider });
    },
    rotated: (e: { name: string; previous: { version: string }; current: { version: string }; reason: string }) =>
      write('secret.rotated', 'success', { secret: e.name, from: e.previous.version, to: e.current.version, reason: e.reason }),
    refreshFailed: (e: { name: string; error: unknown; attempt: number }) =>
      write('secret.refresh-failed', 'failure', { secret: e.name, attempt: e.attempt }, codeOf(e.error)),
    stale: (e: { name: string; error: unknown }) => write('secret.stale', 'failure', { secret: e.name }, codeOf(e.error)),
    recovered: (e: { name: string; failedForMs: number }) => write('secret.recovered', 'success', { secret: e.name, failedForMs: e.failedForMs }),
    leaseRenewed: (e: { name: string; leaseId: string }) => write('lease.renewed', 'success', { secret: e.name, lease: trail.hash(e.leaseId) }),
    leaseRevoked: (e: { name: string; leaseId: string }) => write('lease.revoked', 'success', { secret: e.name, lease: trail.hash(e.leaseId) }),
    leaseRevokeFailed: (e: { name: string; leaseId: string; error?: unknown }) =>
      write('lease.revoke-failed', 'failure', { secret: e.name, lease: trail.hash(e.leaseId) }, codeOf(e.error)),
  };
  for (const [event, listener] of Object.entries(listeners)) store.on(event as 'access', listener as never);
  // What the store loaded at bootstrap, by name and version (its reads came before this trail).
  const health = store.health();
  const loaded = Object.entries(health.secrets).flatMap(([name, h]) => (h.version === undefined ? [] : [{ name, version: h.version }]));
  trail
    .record({ event: 'store.started', actor: trail.service, outcome: 'success', secrets: loaded, details: { secrets: Object.keys(health.secrets).length, status: health.status } })
    .catch(() => {});
  return () => {
    for (const [event, listener] of Object.entries(listeners)) store.off(event as 'access', listener as never);
  };
}

/**
 * Records a credential pool's generation switches (`pool.generation`), failed switches
 * (`pool.generation-failed`) and drains (`pool.drained`), naming the credentials' version only.
 *
 * @example auditPool(trail, pgPool.pool, 'database');
 */
export function auditPool(
  trail: AuditTrail,
  pool: { on(event: string, listener: (e: any) => void): unknown; off(event: string, listener: (e: any) => void): unknown },
  name: string,
): () => void {
  const write = (event: string, outcome: AuditEntry['outcome'], details: Record<string, Detail>, code?: string) =>
    trail.record({ event, actor: trail.service, outcome, details: { pool: name, ...details }, ...(code === undefined ? {} : { error: { code } }) }).catch(() => {});
  const listeners: Record<string, (e: any) => void> = {
    generation: (e: { id: number; version: string; previous?: number }) =>
      write('pool.generation', 'success', { generation: e.id, version: e.version, previous: e.previous ?? null }),
    generationFailed: (e: { version: string; error: unknown; attempt: number }) =>
      write('pool.generation-failed', 'failure', { version: e.version, attempt: e.attempt }, codeOf(e.error)),
    drained: (e: { id: number; version: string; forced: number }) => write('pool.drained', 'success', { generation: e.id, version: e.version, forced: e.forced }),
  };
  for (const [event, listener] of Object.entries(listeners)) pool.on(event, listener);
  return () => {
    for (const [event, listener] of Object.entries(listeners)) pool.off(event, listener);
  };
}

/**
 * Records API key changes as this instance sees them in its key ring: `api-key.created`,
 * `api-key.rotated` (current -> previous, with its sunset), `api-key.revoked`, `api-key.pruned`,
 * by keyId and client (never a key or a hash).
 *
 * @example auditKeyRing(trail, store, 'apiKeys');
 */
export function auditKeyRing(trail: AuditTrail, store: SecretStore<any>, ringName: string): () => void {
  const listener = (e: { name: string; previous: { reveal(): unknown; version: string }; current: { reveal(): unknown; version: string } }) => {
    if (e.name !== ringName) return;
    let before: Map<string, KeyRingEntry>;
    let after: Map<string, KeyRingEntry>;
    try {
      before = new Map(parseKeyRing(e.previous.reveal()).keys.map((k) => [k.keyId, k]));
      after = new Map(parseKeyRing(e.current.reveal()).keys.map((k) => [k.keyId, k]));
    } catch (err) {
      void trail.record({ event: 'api-key.ring-invalid', actor: trail.service, outcome: 'failure', details: { ring: e.current.version }, error: { code: codeOf(err) ?? 'SECRET_INVALID' } }).catch(() => {});
      return;
    }
    const write = (event: string, entry: KeyRingEntry, extra: Record<string, Detail> = {}) =>
      trail
        .record({ event, actor: trail.service, outcome: 'success', details: { keyId: entry.keyId, client: entry.client, ring: e.current.version, ...extra } })
        .catch(() => {});
    for (const [keyId, entry] of after) {
      const old = before.get(keyId);
      if (old === undefined) write('api-key.created', entry, { status: entry.status });
      else if (old.status === 'current' && entry.status === 'previous') write('api-key.rotated', entry, { sunset: entry.expiresAt ?? null });
      else if (old.status !== 'revoked' && entry.status === 'revoked') write('api-key.revoked', entry);
    }
    for (const [keyId, entry] of before) if (!after.has(keyId)) write('api-key.pruned', entry);
  };
  store.on('rotated', listener as never);
  return () => store.off('rotated', listener as never);
}

function codeOf(err: unknown): string | undefined {
  return isKeywardError(err) ? err.code : err instanceof Error ? err.name : undefined;
}
