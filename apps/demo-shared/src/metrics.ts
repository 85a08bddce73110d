import { keywardMetrics, type KeywardMetricsSources } from '@keyward/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The demos' `GET /metrics` and what it needs shut down. */
export interface DemoMetrics {
  /** `GET /metrics`: Keyward's instruments in Prometheus text format, on the app's own server. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Removes the listeners, then shuts the meter provider down (after the HTTP server: a scrape in flight still gets its answer). */
  close(): Promise<void>;
}

const SECONDS = ['keyward.secret.age', 'keyward.lease.remaining', 'keyward.pool.switch.duration', 'keyward.tls.certificate.remaining'];

/**
 * Keyward's metrics (`keywardMetrics`) on an OpenTelemetry SDK meter provider of the demo's own,
 * read by a Prometheus exporter that the app's routes serve (no second port). Nothing is
 * registered globally: another library's meter provider, or none, is left alone. The demos serve
 * it without an API key on 127.0.0.1; a real service puts it behind its operators' login or on
 * an internal port.
 *
 * @example
 * const metrics = demoMetrics({ store, pools: database.pools, apiKeys: verifier, audit: trail });
 * app.get('/metrics', metrics.handle);
 */
export function demoMetrics(sources: KeywardMetricsSources): DemoMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [exporter],
    // This exporter adds no unit suffix: the seconds-valued instruments are named as Prometheus expects (`keyward_secret_age_seconds`).
    views: SECONDS.map((name) => ({ instrumentName: name, name: `${name}_seconds` })),
  });
  const instrumentation = keywardMetrics(sources, { meter: provider.getMeter('@keyward/core') });
  return {
    handle: (req, res) => exporter.getMetricsRequestHandler(req, res),
    async close() {
      instrumentation.stop();
      await provider.shutdown();
    },
  };
}
