import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const root = process.env.TINNHIEM_TEST_TEMPLATE_ROOT;
  if (root) rmSync(root, { recursive: true, force: true });
}
