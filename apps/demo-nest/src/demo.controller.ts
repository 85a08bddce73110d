import { createHmac } from 'node:crypto';
import { SecretStore } from '@keyward/core';
import { InjectSecret, SecretRef } from '@keyward/nestjs';
import { Controller, Get, HttpException, Inject, Param } from '@nestjs/common';
import { DatabaseService } from './database.service.js';

@Controller()
export class DemoController {
  constructor(
    @Inject(SecretStore) private readonly store: SecretStore,
    @InjectSecret('sessionSecret') private readonly sessionSecret: SecretRef<string>,
    @Inject(DatabaseService) private readonly database: DatabaseService,
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

  /** Queries PostgreSQL through the Keyward pool, which follows the credentials' rotations. */
  @Get('db')
  db() {
    return this.database.check();
  }

  /** Uses a secret without showing it: a signature made with the session secret. */
  @Get('sign/:text')
  sign(@Param('text') text: string) {
    return { text, signature: createHmac('sha256', this.sessionSecret.reveal()).update(text).digest('hex') };
  }
}
