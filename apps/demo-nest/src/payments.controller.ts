import type { Refreshable, SecretRotatedEvent } from '@keyward/core';
import { DEMO_SCOPES, paymentsClientOptions, pingPayments, type PaymentsClient } from '@keyward/demo-shared';
import { OnSecretRotated, refreshableProvider, RequireScopes } from '@keyward/nestjs';
import { Controller, Get, Inject, Logger, NotFoundException } from '@nestjs/common';

/** Injection token of the payment provider's client, a `Refreshable<PaymentsClient>`. */
export const PAYMENTS_CLIENT = Symbol('PAYMENTS_CLIENT');

/**
 * The payment provider's client as a provider that is rebuilt when `paymentsApiKey` rotates:
 * new calls use the new key, the old client closes after its calls in flight, and a call the
 * provider refuses is retried once after a refresh of the key.
 */
export const paymentsClientProvider = refreshableProvider<PaymentsClient, string>({ provide: PAYMENTS_CLIENT, ...paymentsClientOptions });

@Controller('payments')
export class PaymentsController {
  private readonly logger = new Logger('Payments');

  constructor(@Inject(PAYMENTS_CLIENT) private readonly client: Refreshable<PaymentsClient>) {}

  /** Calls the payment provider with the current key; says which version of the key served the call. */
  @RequireScopes(DEMO_SCOPES.sign)
  @Get('ping')
  async ping() {
    const answer = pingPayments(this.client);
    if (answer === undefined) throw new NotFoundException({ error: { code: 'NOT_CONFIGURED', message: 'This demo runs without a payment provider.' } });
    return answer;
  }

  /** A method of any provider or controller can follow a secret's rotations (redacted forms only in the log). */
  @OnSecretRotated('paymentsApiKey')
  keyRotated(event: SecretRotatedEvent) {
    this.logger.log(`payments key rotated: ${event.previous} -> ${event.current}; new calls use the new key`);
  }
}
