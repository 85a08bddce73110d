import { SecretStore } from '@keyward/core';
import { demoHttps, type DemoHttps, type DemoSecrets } from '@keyward/demo-shared';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { RequestListener } from 'node:http';

/**
 * The same app over HTTPS (Vault backend only; `https` is `undefined` otherwise), on the `tls`
 * secret, a certificate from Vault's PKI engine that `tlsFromSecret` swaps in on each reissue.
 * Listens on `DEMO_HTTPS_PORT` (default 3443) once the app has started; `app.close()` closes it.
 */
@Injectable()
export class HttpsService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Https');
  readonly https: DemoHttps | undefined;
  private closing: Promise<void> | undefined;

  constructor(@Inject(SecretStore) store: SecretStore, @Inject(HttpAdapterHost) adapterHost: HttpAdapterHost) {
    // The Express instance Nest routes on, handed to the HTTPS server as its request listener.
    const app: RequestListener = (req, res) => (adapterHost.httpAdapter.getInstance() as RequestListener)(req, res);
    this.https = demoHttps(store as unknown as SecretStore<DemoSecrets>, app, (line) => this.logger.log(line));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.https === undefined) return;
    const port = await this.https.listen(Number(process.env['DEMO_HTTPS_PORT'] ?? 3443));
    this.logger.log(`keyward demo (nest) listening on https://127.0.0.1:${port} (GET /tls: the certificate served, reissued by Vault PKI)`);
  }

  // With the HTTP server: stop taking connections before Nest closes the modules...
  beforeApplicationShutdown(): void {
    this.closing = this.https?.close();
  }

  // ...and wait for the last answers before the store (KeywardModule's providers shut down after this module's).
  async onApplicationShutdown(): Promise<void> {
    await (this.closing ?? this.https?.close());
  }
}
