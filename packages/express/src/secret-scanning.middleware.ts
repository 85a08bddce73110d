import type { SecretScanningHandler } from '@keyward/core';
import type { Request, RequestHandler } from 'express';

/** Largest body read (1 MiB): GitHub's reports are a few matches. */
const MAX_BYTES = 1024 * 1024;

/**
 * The endpoint of GitHub's secret-scanning partner program, for `secretScanningHandler()` of
 * `@keyward/core`: reads the raw body (the signature covers its bytes; mount it before any JSON
 * parser, or keep the raw body as `req.rawBody` as Nest's `rawBody: true` does), passes GitHub's
 * `GITHUB-PUBLIC-KEY-IDENTIFIER` and `GITHUB-PUBLIC-KEY-SIGNATURE` headers, and answers with the
 * handler's status and JSON body. A body over 1 MiB is refused (413) before it is read whole.
 *
 * @example
 * app.post('/github/secret-scanning', secretScanningEndpoint(secretScanningHandler({ admin, pepper, audit: trail })));
 */
export function secretScanningEndpoint(handler: SecretScanningHandler): RequestHandler {
  return (req, res, next) => {
    rawBody(req).then(
      async (body) => {
        if (body === 'too large') return void res.status(413).json({ error: { code: 'REPORT_TOO_LARGE', message: `a report is at most ${MAX_BYTES} bytes` } });
        if (body === undefined) return void res.status(400).json({ error: { code: 'REPORT_UNREADABLE', message: 'the raw body was consumed by a parser before this route (Nest: create the app with rawBody: true)' } });
        const answer = await handler.handle({ body, keyIdentifier: req.get('github-public-key-identifier'), signature: req.get('github-public-key-signature') });
        res.status(answer.status).set('Cache-Control', 'no-store').json(answer.body);
      },
    ).catch(next);
  };
}

/** The request's bytes: kept by a raw parser (`req.rawBody`, a Buffer `req.body`), or read here. */
async function rawBody(req: Request & { rawBody?: unknown }): Promise<Buffer | 'too large' | undefined> {
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody.length > MAX_BYTES ? 'too large' : req.rawBody;
  if (Buffer.isBuffer(req.body)) return req.body.length > MAX_BYTES ? 'too large' : req.body;
  if (req.readableEnded || req.body !== undefined) return undefined;
  if (Number(req.get('content-length') ?? 0) > MAX_BYTES) return 'too large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BYTES) return 'too large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
