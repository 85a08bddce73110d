import { createSecretKey, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { SecretRotatedEvent } from '@keyward/core';
import { OnSecretRotated, refreshableProvider } from '@keyward/nestjs';

/** Injection token of the charges' signing key, a `Refreshable<KeyObject>` rebuilt when stripeKey rotates. */
export const CHARGES_SIGNER = 'CHARGES_SIGNER';

export const chargesSignerProvider = refreshableProvider<KeyObject, string>({
  provide: CHARGES_SIGNER,
  secret: 'stripeKey',
  debounce: '0ms',
  build: (key) => createSecretKey(Buffer.from(key.reveal())),
});

/** Counts the rotations of stripeKey it was told about (versions only). */
@Injectable()
export class StripeKeyRotations {
  readonly seen: string[] = [];

  @OnSecretRotated('stripeKey')
  rotated(event: SecretRotatedEvent) {
    this.seen.push(`${event.previous.version}->${event.current.version}`);
  }
}
