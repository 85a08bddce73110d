import type { IncomingMessage, ServerResponse } from 'node:http';
import { demoStatus, type DemoStatus } from '@keyward/demo-shared';
import { Public } from '@keyward/nestjs';
import { Controller, Get, Inject, Req, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import { OPERATOR_VIEW_SOURCES, type OperatorViewSources } from './operator-views.provider.js';

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

  constructor(@Inject(OPERATOR_VIEW_SOURCES) sources: OperatorViewSources) {
    this.status = demoStatus({ service: 'keyward demo (nest)', ...sources });
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
