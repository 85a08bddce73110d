export { KeywardModule } from './keyward.module.js';
export {
  KEYWARD_MODULE_OPTIONS,
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
