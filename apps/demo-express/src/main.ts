import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDemoApp } from './app.js';

const envFile = process.env['KEYWARD_ENV_FILE'] ?? fileURLToPath(new URL('../.env', import.meta.url));
const port = Number(process.env['PORT'] ?? 3001);
// The same app over HTTPS (Vault backend only), on a certificate from Vault's PKI engine.
const httpsPort = Number(process.env['DEMO_HTTPS_PORT'] ?? 3444);

const demo = await createDemoApp(envFile);
const server = demo.app.listen(port, '127.0.0.1', () => {
  console.log(`keyward demo (express) listening on http://127.0.0.1:${port} (GET /health, /status, /metrics)`);
});
if (demo.https !== undefined) {
  const listening = await demo.https.listen(httpsPort);
  console.log(`keyward demo (express) listening on https://127.0.0.1:${listening} (GET /tls: the certificate served, reissued by Vault PKI)`);
}
// Graceful stop: no new connections, in-flight requests finish (and get their audit records),
// then the pool, the store and the audit trail close in that order; the trail flushes last.
let stopping = false;
// Once stopping, each answer closes its connection: keep-alive clients cannot hold the server open.
// Ahead of Express's own listener: after it, a route that answers at once has already sent its
// headers, and setHeader would throw (ERR_HTTP_HEADERS_SENT) and end the process mid-stop.
server.prependListener('request', (_req, res: ServerResponse) => {
  if (stopping && !res.headersSent) res.setHeader('connection', 'close');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    // Open status pages hold their event streams: end them, or the server would wait for them.
    demo.status.close();
    // The HTTPS server stops taking connections too; demo.close() waits for it.
    void demo.https?.close();
    server.close(() => {
      demo.close().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`shutdown failed: ${err instanceof Error ? err.name : 'error'}`);
          process.exit(1);
        },
      );
    });
    server.closeIdleConnections();
  });
}
