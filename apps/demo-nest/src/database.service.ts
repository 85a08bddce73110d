import { SecretStore, type AuditTrail } from '@keyward/core';
import { KEYWARD_AUDIT_TRAIL } from '@keyward/nestjs';
import { openDemoDatabase, type DemoDatabase, type DemoSecrets } from '@keyward/demo-shared';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';

/** The demo's Keyward pool: built after the store has loaded, closed after the HTTP server and before the store. */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  /** The pool and its queries (the partner webhooks use it). */
  readonly database: DemoDatabase;

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

  // Not onModuleDestroy: Nest runs that before it closes the HTTP server, so requests still in
  // flight would find the pool closed (503 POOL_CLOSED). Application shutdown comes after the
  // server has closed; this module's hook runs before the store's (KeywardModule is imported, so
  // its providers shut down later), so the pool still closes before the store.
  onApplicationShutdown(): Promise<void> {
    return this.database.close();
  }
}
