import { fileURLToPath } from 'node:url';
import { createDemoApp } from './app.js';

const envFile = process.env['KEYWARD_ENV_FILE'] ?? fileURLToPath(new URL('../.env', import.meta.url));
const port = Number(process.env['PORT'] ?? 3001);

const demo = await createDemoApp(envFile);
const server = demo.app.listen(port, '127.0.0.1', () => {
  console.log(`keyward demo (express) listening on http://127.0.0.1:${port} (GET /health)`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    void demo.close();
  });
}
