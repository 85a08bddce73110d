import { SecretStore, type ApiKeyVerifier } from '@keyward/core';
import { demoApiKeys, type DemoApiKeys, type DemoSecrets } from '@keyward/demo-shared';
import { KEYWARD_API_KEY_VERIFIER } from '@keyward/nestjs';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';

/** The module's API key verifier, and the Redis follower of the key ring when `KEYWARD_REDIS_URL` is set. */
@Injectable()
export class ApiKeysService implements OnModuleDestroy {
  private readonly logger = new Logger('ApiKeys');
  readonly keys: DemoApiKeys;

  constructor(@Inject(SecretStore) store: SecretStore, @Inject(KEYWARD_API_KEY_VERIFIER) verifier: ApiKeyVerifier) {
    this.keys = demoApiKeys(store as unknown as SecretStore<DemoSecrets>, { verifier, log: (line) => this.logger.log(line) });
  }

  onModuleDestroy(): Promise<void> {
    return this.keys.close();
  }
}
