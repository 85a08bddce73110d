export * from './refresh-scheduler.js';
export * from './store-options.js';
export * from './store-events.js';
export * from './store-health.js';
export * from './secret-store.js';
