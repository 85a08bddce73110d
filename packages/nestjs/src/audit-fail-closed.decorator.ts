import { SetMetadata } from '@nestjs/common';

/** Metadata key of `@AuditFailClosed()`. */
export const KEYWARD_AUDIT_FAIL_CLOSED = 'keyward:audit-fail-closed';

/**
 * Makes a route (or every route of a controller) fail-closed on the audit trail: while the trail
 * is failing the handler does not run at all (the request is answered 503 `AUDIT_UNAVAILABLE`
 * and the trail probed), and otherwise the response leaves only once its record is written (a
 * 503 when it cannot be within the trail's `writeTimeout`). Needs `KeywardModule.forRoot({ audit })`.
 *
 * It is applied by `AuditGuard`, i.e. after the module's API key guard and before later guards,
 * the pipes and the handler: the API key guard's refusal on such a route is recorded after its
 * answer, not before. For
 * "no answer at all without its record" set `audit: { failClosed: true }` on the module instead
 * (decided by the middleware, before routing). `@AuditFailClosed(false)` on a method exempts it
 * from a fail-closed controller, or from the module-wide setting once routed (its response no
 * longer waits for its record).
 *
 * @example
 * @AuditFailClosed()
 * @Post('payouts') pay(@Body() payout: Payout) { return this.payouts.send(payout); }
 */
export function AuditFailClosed(enabled = true): MethodDecorator & ClassDecorator {
  return SetMetadata(KEYWARD_AUDIT_FAIL_CLOSED, enabled);
}
