export * from './pool-driver.js';
export * from './credential-source.js';
export * from './credential-pool.js';
