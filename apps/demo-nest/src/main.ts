import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.js';

const envFile = process.env['KEYWARD_ENV_FILE'] ?? fileURLToPath(new URL('../.env', import.meta.url));
const port = Number(process.env['PORT'] ?? 3000);

const app = await NestFactory.create(AppModule.forEnvFile(envFile));
app.enableShutdownHooks();
await app.listen(port, '127.0.0.1');
console.log(`keyward demo (nest) listening on http://127.0.0.1:${port} (GET /health)`);
