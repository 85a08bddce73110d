// The chaos app as a process of its own, for chaos.sigterm-under-load: `node ... app-main.ts
// express|nest`, the backend's environment in process.env, CHAOS_AUDIT_FILE and PORT. It prints
// `listening on <url>` and stops on SIGTERM as the demos do: no new connections, in-flight
// requests finish and get their records, then pool, store and trail close (the trail flushes last).
import type { ServerResponse } from 'node:http';
import { startExpressChaosApp } from './express-app.js';
import { startNestChaosApp } from './nest-app.js';

const framework = process.argv[2] === 'nest' ? 'nest' : 'express';
const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
const options = { env, auditFile: process.env['CHAOS_AUDIT_FILE']!, port: Number(process.env['PORT'] ?? 0) };
let stopping = false;
const app = framework === 'express' ? await startExpressChaosApp(options) : await startNestChaosApp(options, true);
// Once stopping, each answer closes its connection: keep-alive clients cannot hold the server open.
// Before the app's own listener: a route that answers at once has sent its headers by the time a later listener runs.
app.server.prependListener('request', (_req, res: ServerResponse) => {
  if (stopping) res.setHeader('connection', 'close');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    if (framework === 'nest') return; // enableShutdownHooks: Nest closes the server, then the modules
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    app.server.close(() => {
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    app.server.closeIdleConnections();
  });
}
console.log(`listening on ${app.url}`);
