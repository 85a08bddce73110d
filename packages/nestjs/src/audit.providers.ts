import {
  auditHttp,
  auditKeyRing,
  auditStore,
  createAuditTrail,
  SecretStore,
  type AuditHttpOptions,
  type AuditKey,
  type AuditTrail,
  type AuditTrailOptions,
  type Duration,
} from '@keyward/core';
import type { FactoryProvider, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditGuard } from './audit.interceptor.js';
import { KEYWARD_AUDIT_OPTIONS, KEYWARD_AUDIT_TRAIL } from './audit-tokens.js';

/**
 * The `audit` extra of `KeywardModule.forRoot` / `forRootAsync`: an audit trail keyed by a
 * declared secret, one `http.request` record per request, the store's and key ring's events.
 *
 * @example
 * KeywardModule.forRoot({
 *   app: 'billing', providers, secrets: { auditKey: {}, apiKeys: {}, apiKeyPepper: {} },
 *   apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' },
 *   audit: { key: 'auditKey', file: 'logs/audit.jsonl', writeTimeout: '2s' },
 * })
 */
export interface KeywardAuditOptions {
  /** The declared secret holding the audit key (32+ random bytes). */
  readonly key: string;
  /** The service named as the actor of records made outside requests (default: the store's `app`). */
  readonly service?: string;
  /** Where the default transport appends JSON lines (default `logs/audit.jsonl`). Ignored with `transports`. */
  readonly file?: string;
  /** The trail's own winston transports, instead of the file. */
  readonly transports?: AuditTrailOptions['transports'];
  /** A record not acknowledged within this time is a failure (default `'2s'`). */
  readonly writeTimeout?: Duration;
  /**
   * Every response waits for its record and is a 503 `AUDIT_UNAVAILABLE` when it cannot be
   * written; while the trail is failing no request reaches a guard or a handler (default
   * `false`: per route with `@AuditFailClosed()`).
   */
  readonly failClosed?: boolean;
  /** Where a caller's request id is read from and echoed to (default `x-request-id`). */
  readonly requestIdHeader?: string;
  /** Who a request acts for when no API key says so (e.g. your session's user). */
  readonly principal?: AuditHttpOptions['principal'];
  /** Requests not recorded at all (e.g. a load balancer's health checks); `@AuditFailClosed()` refuses them. */
  readonly skip?: AuditHttpOptions['skip'];
}

/**
 * The trail (started once the store is: it needs the key), recording the store's events and,
 * with `apiKeys`, the key ring's; the options; and the global `AuditGuard` (registered after the
 * API key guard: keep `auditProviders` after `apiKeyProviders`).
 */
export function auditProviders(audit: KeywardAuditOptions | undefined, ring: string | undefined): Provider[] {
  if (audit === undefined) return [];
  const trail: FactoryProvider<Promise<AuditTrail>> = {
    provide: KEYWARD_AUDIT_TRAIL,
    inject: [SecretStore],
    useFactory: async (store: SecretStore) => {
      const created = await createAuditTrail({
        key: store.get(audit.key).reveal() as AuditKey,
        service: audit.service ?? store.app,
        ...(audit.file === undefined ? {} : { file: audit.file }),
        ...(audit.transports === undefined ? {} : { transports: audit.transports }),
        ...(audit.writeTimeout === undefined ? {} : { writeTimeout: audit.writeTimeout }),
      });
      auditStore(created, store);
      if (ring !== undefined) auditKeyRing(created, store, ring);
      return created;
    },
  };
  return [{ provide: KEYWARD_AUDIT_OPTIONS, useValue: audit }, trail, { provide: APP_GUARD, useClass: AuditGuard }];
}

/** The Connect-style middleware `KeywardModule` applies to every route. */
export function auditMiddleware(trail: AuditTrail, audit: KeywardAuditOptions) {
  return auditHttp(trail, {
    ...(audit.requestIdHeader === undefined ? {} : { requestIdHeader: audit.requestIdHeader }),
    ...(audit.principal === undefined ? {} : { principal: audit.principal }),
    ...(audit.failClosed === undefined ? {} : { failClosed: audit.failClosed }),
    ...(audit.skip === undefined ? {} : { skip: audit.skip }),
  });
}
