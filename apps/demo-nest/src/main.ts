import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.js';

const envFile = process.env['KEYWARD_ENV_FILE'] ?? fileURLToPath(new URL('../.env', import.meta.url));
const port = Number(process.env['PORT'] ?? 3000);

const app = await NestFactory.create(AppModule.forEnvFile(envFile));
// Do not tell callers what the service runs on.
app.getHttpAdapter().getInstance().disable('x-powered-by');
app.enableShutdownHooks();
await app.listen(port, '127.0.0.1');
console.log(`keyward demo (nest) listening on http://127.0.0.1:${port} (GET /health)`);
