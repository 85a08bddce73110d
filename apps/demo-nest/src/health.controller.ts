import { demoCertificates } from '@keyward/demo-shared';
import { Public } from '@keyward/nestjs';
import { KeywardHealthIndicator } from '@keyward/nestjs/terminus';
import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DatabaseService } from './database.service.js';
import { HttpsService } from './https.service.js';

/**
 * `GET /health` through `@nestjs/terminus`: the store's health (names, versions and ages, never a
 * value), the audit trail's, the database pool's and the HTTPS certificate's (Vault backend), as one `keyward` indicator. 200 while ok or
 * degraded, 503 when down.
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(KeywardHealthIndicator) private readonly keyward: KeywardHealthIndicator,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(HttpsService) private readonly https: HttpsService,
  ) {}

  @Public()
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.keyward.isHealthy('keyward', { pools: this.database.pools, tls: demoCertificates(this.https.https) })]);
  }
}
