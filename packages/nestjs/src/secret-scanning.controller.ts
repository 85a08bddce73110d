import type { SecretScanningHandler } from '@keyward/core';
import { Controller, HttpCode, HttpException, Inject, Post, Req, type Type } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { Public } from './public.decorator.js';

/**
 * The token of the `SecretScanningHandler` (`secretScanningHandler()` of `@keyward/core`) that
 * `secretScanningController()` answers GitHub with; provide it in your module.
 *
 * @example { provide: KEYWARD_SECRET_SCANNING, inject: [...], useFactory: (...) => secretScanningHandler({ admin, pepper, audit }) }
 */
export const KEYWARD_SECRET_SCANNING = Symbol.for('@keyward/nestjs:secretScanning');

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * A controller for GitHub's secret-scanning partner program at `POST /<path>` (public: GitHub
 * sends no API key; the report's signature is what is checked). The signature covers the raw
 * body: create the app with `NestFactory.create(AppModule, { rawBody: true })`. Answers 200 with
 * the labels, or the handler's refusal (401 bad signature, 409 replay, 400 malformed) with its code.
 *
 * @example
 * @Module({
 *   controllers: [secretScanningController('github/secret-scanning')],
 *   providers: [{ provide: KEYWARD_SECRET_SCANNING, inject: [SecretStore], useFactory: (store: SecretStore) => secretScanningHandler({ admin, pepper: () => store.get('apiKeyPepper').reveal() }) }],
 * })
 * class LeakModule {}
 */
export function secretScanningController(path = 'github/secret-scanning'): Type<unknown> {
  @Public()
  @Controller(path)
  class SecretScanningController {
    constructor(@Inject(KEYWARD_SECRET_SCANNING) private readonly handler: SecretScanningHandler) {}

    @Post()
    @HttpCode(200)
    async report(@Req() req: { rawBody?: unknown; headers: IncomingHttpHeaders }): Promise<unknown> {
      if (!Buffer.isBuffer(req.rawBody)) {
        throw new HttpException({ error: { code: 'REPORT_UNREADABLE', message: 'no raw body: create the app with NestFactory.create(AppModule, { rawBody: true })' } }, 400);
      }
      const answer = await this.handler.handle({
        body: req.rawBody,
        keyIdentifier: header(req.headers, 'github-public-key-identifier'),
        signature: header(req.headers, 'github-public-key-signature'),
      });
      if (answer.status !== 200) throw new HttpException(answer.body, answer.status);
      return answer.body;
    }
  }
  return SecretScanningController;
}
