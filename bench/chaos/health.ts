// Watches an app's /health while a scenario runs: the status it reports (ok, degraded, down) over time.
import http from 'node:http';

export interface HealthSample {
  readonly at: number;
  /** `ok` | `degraded` | `down`, or `unreachable`. */
  readonly status: string;
}

export interface HealthWatch {
  /** Stops polling; resolves with every sample. */
  stop(): Promise<HealthSample[]>;
}

/** The body's status: Express's `{ status }`, or terminus' `{ info: { keyward: { health } } }` / `{ error: ... }`. */
function statusOf(body: unknown): string {
  const b = body as { status?: string; info?: { keyward?: { health?: string } }; error?: { keyward?: { health?: string } }; details?: { keyward?: { health?: string } } };
  return b.details?.keyward?.health ?? b.info?.keyward?.health ?? b.error?.keyward?.health ?? b.status ?? 'unknown';
}

export function watchHealth(url: string, intervalMs = 250): HealthWatch {
  const samples: HealthSample[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let stopped = false;
  const once = () =>
    new Promise<string>((resolve) => {
      const req = http.get(`${url}/health`, { agent, headers: { 'x-request-id': `health-${samples.length}` }, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(statusOf(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
          } catch {
            resolve('unknown');
          }
        });
        res.on('error', () => resolve('unreachable'));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve('unreachable'));
    });
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      samples.push({ at, status: await once() });
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      agent.destroy();
      return samples;
    },
  };
}

/** The statuses seen from `from` on, in order of first appearance. */
export function statusesSeen(samples: readonly HealthSample[], from = 0): string[] {
  return [...new Set(samples.filter((s) => s.at >= from).map((s) => s.status))];
}

/** First time at or after `from` that health was not ok. */
export function firstNotOk(samples: readonly HealthSample[], from: number): number | undefined {
  return samples.find((s) => s.at >= from && s.status !== 'ok')?.at;
}

/** From `from` (the end of an outage): when health was ok again for good (the first ok after which no other status was seen). */
export function okAgainAt(samples: readonly HealthSample[], from: number): number | undefined {
  let candidate: number | undefined;
  for (const s of samples) {
    if (s.at < from) continue;
    if (s.status === 'ok') candidate ??= s.at;
    else candidate = undefined;
  }
  return candidate;
}
