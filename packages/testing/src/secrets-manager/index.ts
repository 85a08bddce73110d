export * from './secrets-manager-emulator.js';
