// The integration tests share the core package's test helpers: one canary, one memory provider, one poll.
export { canary, expectNoCanary, memoryProvider, waitFor } from '../../packages/core/src/spec-support/index.js';
