import { describe, expect, test } from '@jest/globals';
import { createHttpMetrics } from '../../../src/web/metrics.js';

describe('the request-duration histogram', () => {
  test('exposes cumulative buckets, +Inf, sum and count per method, route and status', async () => {
    const metrics = createHttpMetrics();
    metrics.observe('GET', '/healthz', 200, 0.003);
    metrics.observe('GET', '/healthz', 200, 0.005); // on a bound: counted in that bucket (le is ≤)
    metrics.observe('GET', '/healthz', 200, 20); // past the last bound: +Inf only
    metrics.observe('POST', '/ocsp', 200, 0.0001);
    const text = await metrics.registry.metrics();
    const line = (labels: string) => new RegExp(`^http_request_duration_seconds${labels} (\\S+)$`, 'm').exec(text)?.[1];
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(line('_bucket\\{method="GET",route="/healthz",status="200",le="0.0025"\\}')).toBe('0');
    expect(line('_bucket\\{method="GET",route="/healthz",status="200",le="0.005"\\}')).toBe('2');
    expect(line('_bucket\\{method="GET",route="/healthz",status="200",le="10"\\}')).toBe('2');
    expect(line('_bucket\\{method="GET",route="/healthz",status="200",le="\\+Inf"\\}')).toBe('3');
    expect(Number(line('_sum\\{method="GET",route="/healthz",status="200"\\}'))).toBeCloseTo(20.008, 6);
    expect(line('_count\\{method="GET",route="/healthz",status="200"\\}')).toBe('3');
    expect(line('_bucket\\{method="POST",route="/ocsp",status="200",le="0.001"\\}')).toBe('1');
    expect(line('_count\\{method="POST",route="/ocsp",status="200"\\}')).toBe('1');
    // The process metrics are still there.
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  test('each service instance counts on its own', async () => {
    const a = createHttpMetrics();
    const b = createHttpMetrics();
    a.observe('GET', '/readyz', 200, 0.01);
    expect(await b.registry.metrics()).not.toContain('route="/readyz"');
  });
});
