/**
 * The injection token of the module's `AuditTrail`, provided when `KeywardModule.forRoot({ audit })`
 * is used: record your own events on it, or read its `health()`.
 *
 * @example
 * constructor(@Inject(KEYWARD_AUDIT_TRAIL) private readonly trail: AuditTrail) {}
 * // ...
 * await this.trail.record({ event: 'payout.sent', actor: this.trail.service, outcome: 'success', details: { payout: id } });
 */
export const KEYWARD_AUDIT_TRAIL = 'KEYWARD_AUDIT_TRAIL';

/**
 * The injection token of the `audit` options given to `KeywardModule.forRoot` / `forRootAsync`.
 *
 * @example constructor(@Inject(KEYWARD_AUDIT_OPTIONS) options: KeywardAuditOptions) {}
 */
export const KEYWARD_AUDIT_OPTIONS = 'KEYWARD_AUDIT_OPTIONS';
