import { readFileSync } from 'node:fs';
import { AppError } from '../errors/app-error.js';
import type { Service } from '../service/service.js';
import type { ClientInput } from '../../oidc/clients/client-registry.js';

/** Demo officials of the development start (documented in the README; development only). */
export const DEV_PASSWORD = 'tinnhiem-demo-2026';
export const DEV_OFFICIALS = [
  {
    username: 'quantri',
    nationalId: '094190000001',
    fullName: 'Trần Thị Quản Trị',
    email: 'quantri@soctrang.gov.vn',
    agency: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG TỈNH SÓC TRĂNG',
    unit: 'Trung tâm Công nghệ thông tin',
    position: 'Quản trị hệ thống',
    roles: ['admin' as const],
  },
  {
    username: 'canbo',
    nationalId: '094085000002',
    fullName: 'Nguyễn Văn An',
    email: 'nvan@soctrang.gov.vn',
    agency: 'ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG',
    unit: 'Văn phòng',
    position: 'Chuyên viên',
    roles: ['official' as const],
  },
];

export interface DevSeedResult {
  clients: Array<{ clientId: string; secret: string; created: boolean }>;
  /** A fresh enrolment code each start: a password session registers its first passkey with it (docs/security.md). */
  officials: Array<{ username: string; created: boolean; enrolmentCode: string }>;
}

/** The demo clients of dev-clients.json, with their secrets ({publicUrl} not yet replaced). */
export function devClients(): Array<ClientInput & { secret: string }> {
  const file = JSON.parse(readFileSync(new URL('./dev-clients.json', import.meta.url), 'utf8')) as { clients: Array<ClientInput & { secret: string }> };
  return file.clients;
}

/** The demo portal's client (the relying party of /demo, development only). */
export const DEMO_PORTAL_CLIENT_ID = 'demo-portal';

/** Creates the demo clients and officials that are missing; never changes existing ones. */
export async function seedDevelopmentData(service: Service): Promise<DevSeedResult> {
  const publicUrl = service.config.server.publicUrl;
  const result: DevSeedResult = { clients: [], officials: [] };
  const existing = new Set((await service.clients.list()).map((c) => c.clientId));
  for (const { secret, ...raw } of devClients()) {
    const input = JSON.parse(JSON.stringify(raw).replaceAll('{publicUrl}', publicUrl)) as ClientInput;
    const created = !existing.has(input.clientId);
    if (created) await service.clients.add('system:dev-seed', input, { secret });
    result.clients.push({ clientId: input.clientId, secret, created });
  }
  for (const official of DEV_OFFICIALS) {
    let created = true;
    try {
      await service.accounts.createOfficial('system:dev-seed', { ...official, password: DEV_PASSWORD });
    } catch (err) {
      if (!(err instanceof AppError && err.kind === 'conflict')) throw err;
      created = false;
    }
    const account = (await service.accounts.findByLogin(official.username))!;
    const { code } = await service.codes.issueNow({ accountId: account.id, purpose: 'enrolment', actor: 'system:dev-seed' });
    result.officials.push({ username: official.username, created, enrolmentCode: code });
  }
  return result;
}

/** What the home page and the demo portal of a development start show and use (createService's `development`). */
export function developmentDemo(): { password: string; officials: string[]; clients: Array<{ clientId: string; secret: string }>; portalClientId: string } {
  return {
    password: DEV_PASSWORD,
    officials: DEV_OFFICIALS.map((o) => o.username),
    clients: devClients().map((c) => ({ clientId: c.clientId, secret: c.secret })),
    portalClientId: DEMO_PORTAL_CLIENT_ID,
  };
}
