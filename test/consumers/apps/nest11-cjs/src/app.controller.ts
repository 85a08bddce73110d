import { createHmac, type KeyObject } from 'node:crypto';
import { Controller, Get, Inject } from '@nestjs/common';
import type { Refreshable, VerifiedApiKey } from '@keyward/core';
import { ApiKeyPrincipal, InjectSecret, Public, RequireScopes, SecretRef } from '@keyward/nestjs';
import { CHARGES_SIGNER } from './charges-signer';

@Controller()
export class AppController {
  constructor(
    @InjectSecret('stripeKey') private readonly stripeKey: SecretRef<string>,
    @Inject(CHARGES_SIGNER) private readonly signer: Refreshable<KeyObject>,
  ) {}

  @Public()
  @Get()
  getService() {
    return { service: 'shop', stripeKey: String(this.stripeKey.get()) };
  }

  @RequireScopes('charges:read')
  @Get('charges')
  getCharges(@ApiKeyPrincipal() principal: VerifiedApiKey) {
    return { client: principal.client, signature: createHmac('sha256', this.signer.current()).update('charges').digest('hex') };
  }
}
