import { createHmac } from 'node:crypto';
import { Controller, Get } from '@nestjs/common';
import type { VerifiedApiKey } from '@keyward/core';
import { ApiKeyPrincipal, InjectSecret, Public, RequireScopes, SecretRef } from '@keyward/nestjs';

@Controller()
export class AppController {
  constructor(@InjectSecret('stripeKey') private readonly stripeKey: SecretRef<string>) {}

  @Public()
  @Get()
  getService() {
    return { service: 'shop', stripeKey: String(this.stripeKey.get()) };
  }

  @RequireScopes('charges:read')
  @Get('charges')
  getCharges(@ApiKeyPrincipal() principal: VerifiedApiKey) {
    return { client: principal.client, signature: createHmac('sha256', this.stripeKey.reveal()).update('charges').digest('hex') };
  }
}
