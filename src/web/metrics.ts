import { Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

export interface HttpMetrics {
  readonly registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket (not cumulative; the last one is +Inf). */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * The request-duration histogram, counted here and formatted by prom-client at scrape time.
 * prom-client's own Histogram validates and hashes the labels on every observe, which cost more
 * than the OCSP fast path's whole answer (bench/ocsp.ts); here an observation is a map lookup by
 * route template and a few additions. Same name, labels, buckets and exposition format.
 */
function requestDurationHistogram() {
  const series = new Map<string, Series>();
  // The series by method, route and status: the request's own strings (interned templates) and
  // number, without a key string made for every observation (docs/performance.md, "Token endpoint
  // (client credentials), eighth pass").
  const byLabels = new Map<string, Map<string, Map<number, Series>>>();
  return {
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route template and status',
    type: 'histogram',
    aggregator: 'sum',
    observe(method: string, route: string, status: number, seconds: number): void {
      let routes = byLabels.get(method);
      if (!routes) byLabels.set(method, (routes = new Map()));
      let statuses = routes.get(route);
      if (!statuses) routes.set(route, (statuses = new Map()));
      let s = statuses.get(status);
      if (!s) {
        s = { labels: { method, route, status: String(status) }, counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
        statuses.set(status, s);
        series.set(`${method} ${route} ${status}`, s);
      }
      let i = 0;
      while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
      s.counts[i]++;
      s.sum += seconds;
      s.count++;
    },
    get() {
      const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
      for (const s of series.values()) {
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += s.counts[i];
          values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: 'http_request_duration_seconds_bucket' });
        });
        values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: 'http_request_duration_seconds_bucket' });
        values.push({ labels: s.labels, value: s.sum, metricName: 'http_request_duration_seconds_sum' });
        values.push({ labels: s.labels, value: s.count, metricName: 'http_request_duration_seconds_count' });
      }
      return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
    },
  };
}

/** One registry per service instance (tests run several in one process). */
export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = requestDurationHistogram();
  registry.registerMetric(duration as unknown as Metric);
  return {
    registry,
    observe: (method, route, status, seconds) => duration.observe(method, route, status, seconds),
  };
}

/**
 * `tinnhiem_root_crl_next_update_seconds{root}`: seconds until each root CRL's nextUpdate (negative
 * once it has run out). The root CRL is renewed only in a ceremony; alert well before zero.
 */
export function registerRootCrlGauge(registry: Registry, now: () => Date, rootCrls: () => Promise<Array<{ rootId: string; nextUpdate: Date | null }>>): void {
  registry.registerMetric(
    new Gauge({
      name: 'tinnhiem_root_crl_next_update_seconds',
      help: "Seconds until the root CRL's nextUpdate (renew it with `tinnhiem ca ceremony root-crl`)",
      labelNames: ['root'],
      registers: [],
      async collect() {
        this.reset();
        for (const r of await rootCrls()) this.set({ root: r.rootId }, r.nextUpdate ? Math.round((r.nextUpdate.getTime() - now().getTime()) / 1000) : 0);
      },
    }) as unknown as Metric,
  );
}
