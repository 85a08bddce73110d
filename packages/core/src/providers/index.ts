// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export {
  type SecretRef,
  type ReadContext,
  type SecretPayload,
  UNCHANGED,
  type ReadResult,
  type ProviderStartContext,
  type SecretProvider,
} from './secret-provider.js';
export { toEnvName, toKeyName, valueFromVariables } from './naming.js';
export { envProvider, type EnvProviderOptions } from './env.provider.js';
export { dotenvProvider, type DotenvProviderOptions } from './dotenv.provider.js';
export { fileProvider, type FileProviderOptions } from './file.provider.js';
