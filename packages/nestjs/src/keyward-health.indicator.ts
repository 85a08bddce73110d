import { keywardHealthReport, SecretStore, type AuditTrail, type KeywardHealthSources } from '@keyward/core';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { KEYWARD_AUDIT_TRAIL } from './audit-tokens.js';

/** What a check covers besides the store and the module's audit trail: pools, and whether the routes are fail-closed. */
export type KeywardHealthCheckOptions = Omit<KeywardHealthSources, 'store' | 'audit'>;

/**
 * A `@nestjs/terminus` health indicator (terminus 11 and 12) for the module's `SecretStore`, its
 * audit trail (with `KeywardModule.forRoot({ audit })`) and any credential pools you pass,
 * combined by `keywardHealthReport` from `@keyward/core`: `ok` and `degraded` are `up` (200),
 * `down` is `down` (503). The indicator's data holds the report's own status as `health` and its
 * parts as `checks` (names, versions, ages and counts; never a value or a path).
 *
 * Import it from `@keyward/nestjs/terminus`, so that apps without terminus need not install it.
 * Pass `failClosed: true` when the module's audit is `failClosed`: a failing trail is then `down`.
 *
 * @example
 * import { KeywardHealthIndicator } from '@keyward/nestjs/terminus';
 *
 * @Controller('health')
 * class HealthController {
 *   constructor(
 *     @Inject(HealthCheckService) private readonly health: HealthCheckService,
 *     @Inject(KeywardHealthIndicator) private readonly keyward: KeywardHealthIndicator,
 *   ) {}
 *
 *   @Public() // with the global ApiKeyGuard
 *   @Get()
 *   @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.keyward.isHealthy('keyward', { pools: { database: this.pool } })]);
 *   }
 * }
 *
 * @Module({ imports: [TerminusModule, KeywardModule.forRoot({ ...options, isGlobal: true })], controllers: [HealthController], providers: [KeywardHealthIndicator] })
 * class AppModule {}
 * // GET /health -> 200 { status: 'ok', info: { keyward: { status: 'up', health: 'ok', checkedAt, checks: { store, audit } } }, error: {}, details: { ... } }
 */
@Injectable()
export class KeywardHealthIndicator {
  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(SecretStore) private readonly store: SecretStore,
    @Optional() @Inject(KEYWARD_AUDIT_TRAIL) private readonly trail?: AuditTrail,
  ) {}

  /** The report as the indicator `key`: `up` for `ok` and `degraded`, `down` for `down`. */
  isHealthy(key = 'keyward', options: KeywardHealthCheckOptions = {}): HealthIndicatorResult {
    const { status, checkedAt, checks } = keywardHealthReport({ ...options, store: this.store, ...(this.trail === undefined ? {} : { audit: this.trail }) });
    // `status` is terminus's own key (up/down), so the report's status travels as `health`.
    const data = { health: status, checkedAt, checks };
    const session = this.indicators.check(key);
    return status === 'down' ? session.down(data) : session.up(data);
  }
}
