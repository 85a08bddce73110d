export * from './keyward-error.js';
export * from './bootstrap-error.js';
