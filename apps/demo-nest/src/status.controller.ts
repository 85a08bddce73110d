import type { IncomingMessage, ServerResponse } from 'node:http';
import { SecretStore, type ApiKeyVerifier, type AuditTrail } from '@keyward/core';
import { demoStatus, type DemoStatus } from '@keyward/demo-shared';
import { KEYWARD_API_KEY_VERIFIER, KEYWARD_AUDIT_TRAIL, Public } from '@keyward/nestjs';
import { Controller, Get, Inject, Req, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import { DatabaseService } from './database.service.js';

/**
 * The operator's live view: `GET /status` (the page), `/status.json` and `/status/events`
 * (server-sent events, one snapshot a second). Names, versions, ages and counts; never a value.
 * Public here because the demo listens on 127.0.0.1 only: a real service puts these routes behind
 * its operators' login. Left out of the audit trail (`audit.skip` in the module).
 */
@Public()
@Controller()
export class StatusController implements BeforeApplicationShutdown {
  private readonly status: DemoStatus;

  constructor(
    @Inject(SecretStore) store: SecretStore,
    @Inject(DatabaseService) database: DatabaseService,
    @Inject(KEYWARD_API_KEY_VERIFIER) verifier: ApiKeyVerifier,
    @Inject(KEYWARD_AUDIT_TRAIL) trail: AuditTrail,
  ) {
    this.status = demoStatus({ service: 'keyward demo (nest)', store, pools: database.pools, apiKeys: verifier, audit: trail });
  }

  @Get('status')
  page(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    this.status.page(req, res);
  }

  @Get('status.json')
  json(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    this.status.json(req, res);
  }

  @Get('status/events')
  events(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    this.status.events(req, res);
  }

  // Before Nest closes the HTTP server, which would otherwise wait for the open event streams.
  beforeApplicationShutdown(): void {
    this.status.close();
  }
}
