import { Public } from '@keyward/nestjs';
import { KeywardHealthIndicator } from '@keyward/nestjs/terminus';
import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';

/**
 * `GET /health` through `@nestjs/terminus`: the store's health (names, versions and ages, never a
 * value) and the audit trail's, as one `keyward` indicator. 200 while ok or degraded, 503 when down.
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(KeywardHealthIndicator) private readonly keyward: KeywardHealthIndicator,
  ) {}

  @Public()
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.keyward.isHealthy('keyward')]);
  }
}
