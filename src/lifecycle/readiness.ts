/** One named dependency the service needs before it can take traffic. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail: string }>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export async function runReadiness(checks: readonly ReadinessCheck[], shuttingDown: boolean): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        return [c.name, await c.check()] as const;
      } catch (err) {
        return [c.name, { ok: false, detail: (err as Error).message }] as const;
      }
    }),
  );
  const report: ReadinessReport = { ready: !shuttingDown, checks: {} };
  if (shuttingDown) report.checks.lifecycle = { ok: false, detail: 'shutting down' };
  for (const [name, result] of results) {
    report.checks[name] = result;
    if (!result.ok) report.ready = false;
  }
  return report;
}
