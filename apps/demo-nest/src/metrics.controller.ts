import type { IncomingMessage, ServerResponse } from 'node:http';
import { demoMetrics, type DemoMetrics } from '@keyward/demo-shared';
import { Public } from '@keyward/nestjs';
import { Controller, Get, Inject, Req, Res, type OnApplicationShutdown } from '@nestjs/common';
import { OPERATOR_VIEW_SOURCES, type OperatorViewSources } from './operator-views.provider.js';

/**
 * `GET /metrics`: Keyward's metrics in Prometheus format, from an OpenTelemetry meter provider of
 * the app's own. Public here because the demo listens on 127.0.0.1 only: a real service puts it
 * behind its operators' login or on an internal port. Left out of the audit trail (`audit.skip`).
 */
@Public()
@Controller('metrics')
export class MetricsController implements OnApplicationShutdown {
  private readonly metrics: DemoMetrics;

  constructor(@Inject(OPERATOR_VIEW_SOURCES) sources: OperatorViewSources) {
    this.metrics = demoMetrics(sources);
  }

  @Get()
  scrape(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    this.metrics.handle(req, res);
  }

  // After the HTTP server has closed, so that a scrape in flight still gets its answer.
  onApplicationShutdown(): Promise<void> {
    return this.metrics.close();
  }
}
