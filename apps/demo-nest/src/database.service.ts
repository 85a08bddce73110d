import { SecretStore, type AuditTrail } from '@keyward/core';
import { KEYWARD_AUDIT_TRAIL } from '@keyward/nestjs';
import { openDemoDatabase, type DemoDatabase, type DemoSecrets } from '@keyward/demo-shared';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';

/** The demo's Keyward pool: built after the store has loaded, closed before the store closes. */
@Injectable()
export class DatabaseService implements OnModuleDestroy {
  private readonly logger = new Logger('Database');
  private readonly database: DemoDatabase;

  constructor(@Inject(SecretStore) store: SecretStore, @Inject(KEYWARD_AUDIT_TRAIL) trail: AuditTrail) {
    this.database = openDemoDatabase(store as unknown as SecretStore<DemoSecrets>, (line) => this.logger.log(line), process.env, trail);
  }

  check() {
    return this.database.check();
  }

  /** The pool, for the health indicator. */
  get pools() {
    return this.database.pools;
  }

  // Module destroy comes before the store's application shutdown: the pool closes first.
  onModuleDestroy(): Promise<void> {
    return this.database.close();
  }
}
