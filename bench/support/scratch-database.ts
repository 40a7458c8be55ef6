// Its own module (re-exported by bench-kit.ts): bench/validate.ts runs compiled (bench/support/hosted.ts) and imports this without the rest of bench-kit.ts.
/** A PostgreSQL database of its own under `baseUrl`, dropped by the returned function. */
export async function scratchDatabase(baseUrl: string, label: string, template?: string): Promise<{ url: string; drop(): Promise<void> }> {
  const pg = (await import('pg')).default;
  const name = `tinnhiem_bench_${label}_${process.pid}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  // A copy of a prepared database (bench/support/prepared-registry.ts): a file copy since PostgreSQL 15, not gigabytes of WAL.
  const { rows } = await admin.query<{ v: number }>(`select current_setting('server_version_num')::int as v`);
  await admin.query(template ? `create database ${name} template ${template}${rows[0].v >= 150000 ? ' strategy file_copy' : ''}` : `create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const again = new pg.Client({ connectionString: baseUrl });
      await again.connect();
      await again.query(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}
