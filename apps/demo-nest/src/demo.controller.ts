import { createHmac } from 'node:crypto';
import { SecretStore } from '@keyward/core';
import { checkDatabase, type DemoSecrets } from '@keyward/demo-shared';
import { InjectSecret, SecretRef } from '@keyward/nestjs';
import { Controller, Get, HttpException, Inject, Param } from '@nestjs/common';

@Controller()
export class DemoController {
  constructor(
    @Inject(SecretStore) private readonly store: SecretStore,
    @InjectSecret('sessionSecret') private readonly sessionSecret: SecretRef<string>,
  ) {}

  /** The store's health: names, versions and ages, never a value. 503 when down. */
  @Get('health')
  health() {
    const health = this.store.health();
    if (health.status === 'down') throw new HttpException(health, 503);
    return health;
  }

  @Get()
  index() {
    return {
      service: 'keyward demo (nest)',
      environment: this.store.environment,
      secrets: this.store.names.map((name) => String(this.store.get(name))),
    };
  }

  /** Logs in to PostgreSQL with the current dynamic credentials (Vault's database engine). */
  @Get('db')
  db() {
    return checkDatabase(this.store as unknown as SecretStore<DemoSecrets>);
  }

  /** Uses a secret without showing it: a signature made with the session secret. */
  @Get('sign/:text')
  sign(@Param('text') text: string) {
    return { text, signature: createHmac('sha256', this.sessionSecret.reveal()).update(text).digest('hex') };
  }
}
