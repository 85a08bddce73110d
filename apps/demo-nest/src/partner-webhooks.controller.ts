import { DEMO_SCOPES, demoPartnerWebhooks, isPartnerId, isWebhookSecret, type DemoPartnerWebhooks } from '@keyward/demo-shared';
import { KEYWARD_ENVELOPE, RequireScopes } from '@keyward/nestjs';
import type { Envelope } from '@keyward/core';
import { BadRequestException, Body, Controller, Get, Inject, NotFoundException, Param, Post, Put } from '@nestjs/common';
import { DatabaseService } from './database.service.js';

/**
 * Partners' webhook secrets, sealed in PostgreSQL with the module's envelope (`forRoot({ envelope })`)
 * and used to sign a test delivery without ever being shown; `/admin/envelope` shows which KEK
 * version wraps them and re-wraps them after a rotation.
 */
@Controller()
export class PartnerWebhooksController {
  private readonly webhooks: DemoPartnerWebhooks | undefined;

  constructor(@Inject(KEYWARD_ENVELOPE) envelope: Envelope, @Inject(DatabaseService) database: DatabaseService) {
    this.webhooks = demoPartnerWebhooks(database.database, envelope);
  }

  @RequireScopes(DEMO_SCOPES.webhooks)
  @Put('partners/:partner/webhook-secret')
  setSecret(@Param('partner') partner: string, @Body() body: { secret?: unknown } | undefined) {
    const secret = body?.secret;
    if (!isWebhookSecret(secret)) throw new BadRequestException('secret: a string of 16 to 4096 characters.');
    return this.use(partner).setSecret(partner, secret);
  }

  @RequireScopes(DEMO_SCOPES.sign)
  @Post('partners/:partner/webhook-test')
  async signTestEvent(@Param('partner') partner: string) {
    const signed = await this.use(partner).signTestEvent(partner);
    if (signed === undefined) throw new NotFoundException('No webhook secret for this partner.');
    return signed;
  }

  @RequireScopes(DEMO_SCOPES.webhooks)
  @Get('admin/envelope')
  status() {
    return this.use().status();
  }

  @RequireScopes(DEMO_SCOPES.webhooks)
  @Post('admin/envelope/rewrap')
  rewrap() {
    return this.use().rewrap();
  }

  private use(partner?: string): DemoPartnerWebhooks {
    if (this.webhooks === undefined) throw new NotFoundException('This demo runs without a database.');
    if (partner !== undefined && !isPartnerId(partner)) throw new BadRequestException('A partner id is lower-case letters, digits and hyphens.');
    return this.webhooks;
  }
}
