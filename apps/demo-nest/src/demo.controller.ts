import { createHmac } from 'node:crypto';
import { SecretStore } from '@keyward/core';
import { DEMO_SCOPES } from '@keyward/demo-shared';
import { AuditFailClosed, InjectSecret, Public, RequireScopes, SecretRef } from '@keyward/nestjs';
import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiKeysService } from './api-keys.service.js';
import { DatabaseService } from './database.service.js';

@Controller()
export class DemoController {
  constructor(
    @Inject(SecretStore) private readonly store: SecretStore,
    @InjectSecret('sessionSecret') private readonly sessionSecret: SecretRef<string>,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(ApiKeysService) private readonly apiKeys: ApiKeysService,
  ) {}

  @Public()
  @Get()
  index() {
    return {
      service: 'keyward demo (nest)',
      environment: this.store.environment,
      secrets: this.store.names.map((name) => String(this.store.get(name))),
    };
  }

  /** Queries PostgreSQL through the Keyward pool, which follows the credentials' rotations. */
  @RequireScopes(DEMO_SCOPES.db)
  @Get('db')
  db() {
    return this.database.check();
  }

  /** Uses a secret without showing it: a signature made with the session secret. */
  /** Fail-closed: no signature leaves without its audit record (503 while the trail cannot write). */
  @AuditFailClosed()
  @RequireScopes(DEMO_SCOPES.sign)
  @Get('sign/:text')
  sign(@Param('text') text: string) {
    return { text, signature: createHmac('sha256', this.sessionSecret.reveal()).update(text).digest('hex') };
  }

  /** Which clients still use a previous key (in its grace), so an operator knows when to end it early. */
  @RequireScopes(DEMO_SCOPES.admin)
  @Get('admin/api-keys/usage')
  usage() {
    return { previousKeyUses: this.apiKeys.keys.verifier.usage() };
  }
}
