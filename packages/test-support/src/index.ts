// The shared test helpers of the workspace: never built or published, used by specs and test/
// through the `@keyward/source` condition. What needs a database or a backend is on a subpath
// (`/postgres`, `/mariadb`, `/vault`, `/aws-rotation`), so a core spec does not load drivers.
export { canary, expectNoCanary } from './canary.js';
export { rejected, thrown } from './thrown.js';
export { closeAfterEach } from './close-after-each.js';
export { nextEvent, waitFor } from './wait-for.js';
export { memoryProvider, type MemoryProvider } from './memory-provider.js';
export { entry, readLines, reseal, ScriptedTransport, tamper, writeLines, writeTrail, type TransportMode } from './audit-trail-files.js';
export { mountLikeKubelet, swapLikeKubelet } from './kubelet.js';
