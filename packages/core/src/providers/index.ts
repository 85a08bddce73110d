export * from './secret-provider.js';
export * from './naming.js';
export * from './env.provider.js';
export * from './dotenv.provider.js';
export * from './file.provider.js';
