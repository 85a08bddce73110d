import { SecretStore, type ApiKeyVerifier, type AuditTrail, type KeywardMetricsSources } from '@keyward/core';
import { KEYWARD_API_KEY_VERIFIER, KEYWARD_AUDIT_TRAIL } from '@keyward/nestjs';
import type { FactoryProvider } from '@nestjs/common';
import { demoCertificates } from '@keyward/demo-shared';
import { DatabaseService } from './database.service.js';
import { HttpsService } from './https.service.js';

/** What the status page and the metrics look at: the store, the pool, the API key verifier, the audit trail and the HTTPS certificate (none without HTTPS). */
export type OperatorViewSources = Required<KeywardMetricsSources>;

/** Injection token of {@link OperatorViewSources}. */
export const OPERATOR_VIEW_SOURCES = Symbol('OPERATOR_VIEW_SOURCES');

/** Gathers them once, for `StatusController` and `MetricsController`. */
export const operatorViewSources: FactoryProvider<OperatorViewSources> = {
  provide: OPERATOR_VIEW_SOURCES,
  inject: [SecretStore, DatabaseService, KEYWARD_API_KEY_VERIFIER, KEYWARD_AUDIT_TRAIL, HttpsService],
  useFactory: (store: SecretStore, database: DatabaseService, apiKeys: ApiKeyVerifier, audit: AuditTrail, https: HttpsService) => ({
    store,
    pools: database.pools,
    apiKeys,
    audit,
    tls: demoCertificates(https.https),
  }),
};
