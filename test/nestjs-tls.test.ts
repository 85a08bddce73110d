import 'reflect-metadata';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, tlsFromSecret } from '@keyward/core';
import { KeywardModule } from '@keyward/nestjs';
import { KeywardHealthIndicator } from '@keyward/nestjs/terminus';
import { memoryProvider } from '@keyward/test-support';
import { testCertificate, type TestCertificate } from '@keyward/test-support/tls';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { once } from 'node:events';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';

// The pattern the README gives NestJS users: the app created with `httpsOptions: {}` (an https
// server with no certificate yet), the certificate attached from the store before `listen()`.
describe('a Nest app served over HTTPS from a secret', () => {
  let root: TestCertificate;
  beforeAll(async () => {
    root = await testCertificate({ ca: true });
  });

  const k8s = (leaf: TestCertificate) => ({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': root.cert });

  it('answers over TLS on the store’s certificate and on a rotated one for new connections, reported by KeywardHealthIndicator', async () => {
    const [first, second] = await Promise.all([testCertificate({ issuer: root }), testCertificate({ issuer: root })]);
    const provider = memoryProvider({ tls: k8s(first!) });

    @Controller()
    class HelloController {
      @Get('hello') hello() {
        return { hello: 'world' };
      }
    }
    @Module({
      imports: [TerminusModule, KeywardModule.forRoot({ app: 'shop', environment: 'production', providers: { production: provider }, secrets: { tls: { refresh: false } } })],
      controllers: [HelloController],
      providers: [KeywardHealthIndicator],
    })
    class AppModule {}

    const app = await NestFactory.create(AppModule, { httpsOptions: {}, logger: false });
    try {
      const store = app.get(SecretStore);
      const cert = tlsFromSecret(store, 'tls');
      cert.attach(app.getHttpServer() as Server);
      await app.listen(0, '127.0.0.1');
      const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
      const get = async () => {
        const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: root.cert });
        await once(socket, 'secureConnect');
        const serial = socket.getPeerCertificate().serialNumber;
        socket.end('GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        let text = '';
        for await (const chunk of socket) text += String(chunk);
        return { serial, text };
      };
      const before = await get();
      expect(before.serial).toBe(first!.serial);
      expect(before.text).toContain('{"hello":"world"}');

      provider.values['tls'] = k8s(second!);
      await store.refresh('tls');
      expect((await get()).serial).toBe(second!.serial);

      const health = app.get(KeywardHealthIndicator).isHealthy('keyward', { tls: { https: cert } });
      expect(health).toMatchObject({ keyward: { status: 'up', health: 'ok', checks: { tls: { https: { status: 'ok', certificate: { serial: second!.serial } } } } } });
      cert.close();
    } finally {
      await app.close();
    }
  });
});
