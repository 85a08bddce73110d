export { KeywardModule } from './keyward.module.js';
export {
  ConfigurableKeywardModule,
  KEYWARD_MODULE_OPTIONS,
  type KeywardApiKeysOptions,
  type KeywardModuleAsyncOptions,
  type KeywardModuleExtras,
  type KeywardModuleOptions,
  type KeywardOptionsFactory,
} from './keyward.module-definition.js';
export { InjectSecret } from './inject-secret.decorator.js';
export { getSecretToken } from './secret-token.js';
export { SecretRef } from './secret-ref.js';
export { ScheduleRegistryScheduler } from './schedule-registry.scheduler.js';
export { KeywardExceptionFilter } from './keyward-exception.filter.js';
export { ApiKeyGuard, KEYWARD_API_KEY_VERIFIER } from './api-key.guard.js';
export { RequireScopes, KEYWARD_REQUIRED_SCOPES } from './require-scopes.decorator.js';
export { Public, KEYWARD_PUBLIC } from './public.decorator.js';
export { ApiKeyPrincipal } from './api-key-principal.decorator.js';
export { AuditGuard, AuditInterceptor } from './audit.interceptor.js';
export { AuditFailClosed, KEYWARD_AUDIT_FAIL_CLOSED } from './audit-fail-closed.decorator.js';
export { KEYWARD_AUDIT_TRAIL, KEYWARD_AUDIT_OPTIONS } from './audit-tokens.js';
export type { KeywardAuditOptions } from './audit.providers.js';
export { KEYWARD_ENVELOPE, type KeywardEnvelopeOptions } from './envelope.providers.js';
export { OnSecretRotated, KEYWARD_ON_SECRET_ROTATED } from './on-secret-rotated.decorator.js';
export { refreshableProvider, type RefreshableProviderOptions } from './refreshable.provider.js';
export { secretScanningController, KEYWARD_SECRET_SCANNING } from './secret-scanning.controller.js';
