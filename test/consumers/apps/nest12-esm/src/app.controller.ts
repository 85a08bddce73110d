import { createHmac } from 'node:crypto';
import { Body, Controller, Get, Inject, Param, Put } from '@nestjs/common';
import type { Envelope, VerifiedApiKey } from '@keyward/core';
import { ApiKeyPrincipal, InjectSecret, KEYWARD_ENVELOPE, Public, RequireScopes, SecretRef } from '@keyward/nestjs';

@Controller()
export class AppController {
  private readonly notes = new Map<string, string>();

  constructor(
    @InjectSecret('stripeKey') private readonly stripeKey: SecretRef<string>,
    @Inject(KEYWARD_ENVELOPE) private readonly envelope: Envelope,
  ) {}

  /** A note stored sealed (envelope encryption); the answer shows the envelope, never the text. */
  @RequireScopes('charges:read')
  @Put('notes/:id')
  async putNote(@Param('id') id: string, @Body() body: { text: string }) {
    const sealed = await this.envelope.encrypt(String(body.text), { context: { note: id } });
    this.notes.set(id, sealed);
    return { id, sealed };
  }

  @RequireScopes('charges:read')
  @Get('notes/:id')
  async getNote(@Param('id') id: string) {
    return { id, text: await this.envelope.decryptText(this.notes.get(id) ?? '', { context: { note: id } }) };
  }

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
