import { createApp } from './app';

async function main(): Promise<void> {
  const { app, close } = await createApp({ auditFile: process.env.AUDIT_FILE });
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? '127.0.0.1';
  const server = app.listen(port, host, () => console.log(`shop listening on http://${host}:${port}`));

  process.once('SIGTERM', () => {
    // Stop taking requests, then close the store and the trail, so that no audit record is lost.
    server.close(() => {
      close().then(
        () => console.log('shop stopped'),
        (err: unknown) => {
          console.error(err);
          process.exitCode = 1;
        },
      );
    });
    server.closeIdleConnections();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
