import { SecretStore } from '@keyward/core';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';

/** One log line per rotation or failed refresh; template strings print the redacted form. */
@Injectable()
export class RotationLogService implements OnModuleInit {
  private readonly logger = new Logger('Keyward');

  constructor(@Inject(SecretStore) private readonly store: SecretStore) {}

  onModuleInit(): void {
    this.store.on('rotated', (e) => this.logger.log(`secret rotated: ${e.previous} -> ${e.current} (${e.reason})`));
    this.store.on('refreshFailed', (e) => this.logger.warn(`secret refresh failed: ${e.name} ${e.error.code}`));
  }
}
