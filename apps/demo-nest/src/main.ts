import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { Server, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.js';

const envFile = process.env['KEYWARD_ENV_FILE'] ?? fileURLToPath(new URL('../.env', import.meta.url));
const port = Number(process.env['PORT'] ?? 3000);

const app = await NestFactory.create(AppModule.forEnvFile(envFile));
// Do not tell callers what the service runs on.
app.getHttpAdapter().getInstance().disable('x-powered-by');
// On SIGTERM/SIGINT Nest closes the HTTP server, then the modules (the pool, the store, and last
// the audit trail, which flushes). Meanwhile each answer closes its connection, so that keep-alive
// clients cannot hold the server open.
app.enableShutdownHooks();
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopping = true));
await app.listen(port, '127.0.0.1');
// Ahead of Nest's own listener, and only while the headers are unsent: a route that answers at
// once would otherwise have sent them, and setHeader would throw mid-stop.
(app.getHttpServer() as Server).prependListener('request', (_req, res: ServerResponse) => {
  if (stopping && !res.headersSent) res.setHeader('connection', 'close');
});
console.log(`keyward demo (nest) listening on http://127.0.0.1:${port} (GET /health, /status, /metrics)`);
