// The load, in a worker thread so that an app under test in the main thread keeps its event loop:
// `clients` loops, each sending one request at a time on a keep-alive connection until the
// deadline (or `maxRequests`, or a stop message), each request with its own X-Request-Id, each
// answer checked (status and body) and kept as a few numbers.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { OUTCOME, type LoadOptions, type RawLoadResult } from './load-types.js';

const options = workerData as LoadOptions;
const url = new URL(options.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: options.groups.reduce((n, g) => n + g.clients, 0) });
const now = () => performance.timeOrigin + performance.now();
const deadline = now() + options.durationMs;
let stopped = false;
parentPort!.on('message', (message: unknown) => {
  if (message === 'stop') stopped = true;
});

const starts: number[] = [];
const ends: number[] = [];
const routes: number[] = [];
const outcomes: number[] = [];
const statuses: number[] = [];
const reasons: Record<string, number> = {};
const signature = (n: string) => createHmac('sha256', options.sessionSecret).update(n).digest('hex');
const routeTable = options.groups.flatMap((g) => g.routes);

function classify(route: (typeof routeTable)[number], n: string, status: number, text: string): { outcome: number; reason?: string } {
  let body: { n?: unknown; v?: unknown; signature?: unknown; error?: { code?: unknown } } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (status === 200) {
    const right = route.kind === 'db' ? body?.n === n && body?.v === Number(n) * 2 : body?.n === n && body?.signature === signature(n);
    return right ? { outcome: OUTCOME.ok } : { outcome: OUTCOME.badBody, reason: `200 wrong body on ${route.kind}` };
  }
  const code = typeof body?.error?.code === 'string' ? body.error.code : undefined;
  if (status === 503 && route.kind === 'sign' && code === 'AUDIT_UNAVAILABLE') return { outcome: OUTCOME.refused };
  if (status === 401 && code === 'API_KEY_REVOKED') return { outcome: OUTCOME.revoked };
  return { outcome: OUTCOME.badStatus, reason: `${status} ${code ?? ''} on ${route.kind}`.trim() };
}

function send(route: (typeof routeTable)[number], routeIndex: number): Promise<void> {
  const index = starts.length;
  const n = String(index);
  const start = now();
  starts.push(start);
  ends.push(start);
  routes.push(routeIndex);
  outcomes.push(OUTCOME.pending);
  statuses.push(0);
  const finish = (outcome: number, status: number, reason?: string) => {
    if (outcomes[index] !== OUTCOME.pending) return;
    ends[index] = now();
    outcomes[index] = outcome;
    statuses[index] = status;
    if (reason !== undefined) reasons[reason] = (reasons[reason] ?? 0) + 1;
  };
  return new Promise<void>((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: `/${route.kind}/${n}`,
        agent,
        headers: { 'x-request-id': `${options.idPrefix}${index}`, 'x-api-key': route.key, 'user-agent': 'keyward-chaos/1.0' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const { outcome, reason } = classify(route, n, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
          finish(outcome, res.statusCode ?? 0, reason);
          resolve();
        });
        res.on('error', (err: NodeJS.ErrnoException) => {
          finish(OUTCOME.network, 0, err.code ?? err.message);
          resolve();
        });
      },
    );
    req.setTimeout(options.requestTimeoutMs, () => {
      finish(OUTCOME.timeout, 0, `no answer within ${options.requestTimeoutMs} ms`);
      req.destroy();
      resolve();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish(OUTCOME.network, 0, err.code ?? err.message);
      resolve();
    });
    req.end();
  });
}

async function client(group: (typeof options.groups)[number], offset: number, base: number): Promise<void> {
  for (let i = offset; !stopped && now() < deadline && starts.length < options.maxRequests; i++) {
    const r = i % group.routes.length;
    await send(group.routes[r]!, base + r);
    // A refused connection answers at once: pace the retries like a client would, so the loop stays bounded.
    if (outcomes[outcomes.length - 1] === OUTCOME.network) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let base = 0;
const loops: Promise<void>[] = [];
for (const group of options.groups) {
  for (let c = 0; c < group.clients; c++) loops.push(client(group, c, base));
  base += group.routes.length;
}
await Promise.all(loops);
agent.destroy();
const result: RawLoadResult = {
  starts: Float64Array.from(starts),
  ends: Float64Array.from(ends),
  routes: Uint8Array.from(routes),
  outcomes: Uint8Array.from(outcomes),
  statuses: Uint16Array.from(statuses),
  reasons,
};
parentPort!.postMessage(result, [result.starts, result.ends, result.routes, result.outcomes, result.statuses].map((a) => a.buffer as ArrayBuffer));
// The stop listener holds the port open: close it so that the worker, and then the bench, can end.
parentPort!.close();
