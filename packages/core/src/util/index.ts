export * from './duration.js';
export * from './concurrency.js';
