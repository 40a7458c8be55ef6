import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { Service } from '../service/service.js';
import type { RevocationReasonName } from '../../ca/records.js';
import { mstCheckDigit } from '../../ca/asn1/vn-identifiers.js';
import { encodePem } from '../../ca/asn1/der.js';
import type { SubjectFields } from '../../ca/asn1/names.js';
import { FileKeyStore } from '../../ca/keys/file-key-store.js';
import { createIssuingCertificate, createRootCertificate } from '../../ca/issuance/ca-certificates.js';
import { prepareCertificate } from '../../ca/issuance/prepare.js';
import { signCertificate } from '../../ca/issuance/sign.js';
import { newSerial } from '../../ca/issuance/serial.js';
import { requestForKey } from '../../ca/issuance/request.js';
import { parseCsr } from '../../ca/issuance/csr.js';
import { requestFromCsr } from '../../ca/issuance/request.js';

/**
 * A realistic demo registry: officials across the province's agencies (personal signing
 * certificates), organisation seals, a few TLS servers; some revoked, some on hold, and some
 * expired certificates of a previous CA imported with the registry. Real keys (ECDSA P-256, some
 * RSA-2048) and real CSRs, issued through the CA's own pipeline. Deterministic for a given seed.
 */
const FAMILY = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Huỳnh', 'Hoàng', 'Phan', 'Võ', 'Đặng', 'Bùi', 'Đỗ', 'Hồ', 'Ngô', 'Dương', 'Lý', 'Thạch', 'Sơn', 'Lâm', 'Danh', 'Kim', 'Trương', 'Tăng'];
const MIDDLE = ['Văn', 'Thị', 'Minh', 'Ngọc', 'Hoàng', 'Thanh', 'Hữu', 'Quốc', 'Thị Kim', 'Văn Hoàng', 'Thị Thu', 'Đức'];
const GIVEN = ['An', 'Bình', 'Cường', 'Dũng', 'Hà', 'Hải', 'Hạnh', 'Hùng', 'Lan', 'Linh', 'Long', 'Mai', 'Nam', 'Nga', 'Phúc', 'Quân', 'Sơn', 'Tâm', 'Thảo', 'Trang', 'Tuấn', 'Vy', 'Xuân', 'Yến', 'Khang', 'Sophal', 'Sóc', 'Thơ'];
const PROVINCE = 'Sóc Trăng';
const AGENCIES = [
  ['ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG', ['Văn phòng', 'Ban Tiếp công dân']],
  ['SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', ['Phòng Quản lý ngân sách', 'Văn phòng Sở']],
  ['SỞ Y TẾ TỈNH SÓC TRĂNG', ['Phòng Nghiệp vụ Y', 'Văn phòng Sở']],
  ['SỞ GIÁO DỤC VÀ ĐÀO TẠO TỈNH SÓC TRĂNG', ['Phòng Giáo dục Trung học', 'Văn phòng Sở']],
  ['SỞ NỘI VỤ TỈNH SÓC TRĂNG', ['Phòng Công chức, viên chức']],
  ['SỞ TƯ PHÁP TỈNH SÓC TRĂNG', ['Phòng Hành chính tư pháp']],
  ['SỞ KẾ HOẠCH VÀ ĐẦU TƯ TỈNH SÓC TRĂNG', ['Phòng Đăng ký kinh doanh']],
  ['SỞ THÔNG TIN VÀ TRUYỀN THÔNG TỈNH SÓC TRĂNG', ['Trung tâm Công nghệ thông tin']],
  ['SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG TỈNH SÓC TRĂNG', ['Văn phòng Đăng ký đất đai']],
  ['ỦY BAN NHÂN DÂN THÀNH PHỐ SÓC TRĂNG', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN THỊ XÃ VĨNH CHÂU', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN THỊ XÃ NGÃ NĂM', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN HUYỆN KẾ SÁCH', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN HUYỆN MỸ TÚ', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN HUYỆN TRẦN ĐỀ', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN HUYỆN LONG PHÚ', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN HUYỆN CÙ LAO DUNG', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN HUYỆN MỸ XUYÊN', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN HUYỆN THẠNH TRỊ', ['Văn phòng HĐND và UBND']],
  ['ỦY BAN NHÂN DÂN HUYỆN CHÂU THÀNH', ['Văn phòng HĐND và UBND']],
] as const;
const ASCII = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase();

/** mulberry32: small, fast, deterministic. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(list: readonly T[]) => list[Math.floor(next() * list.length)], digits: (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join('') };
}

function taxCode(rand: ReturnType<typeof prng>): string {
  for (;;) {
    const nine = `22${rand.digits(7)}`; // 22…: Sóc Trăng's tax department prefix
    const check = mstCheckDigit(nine);
    if (check !== null) return `${nine}${check}`;
  }
}

export interface SeedProgress {
  (done: number, total: number): void;
}

export interface SeedResult {
  issued: number;
  revoked: number;
  held: number;
  importedExpired: number;
  seconds: number;
}

export async function csrFor(rsa: boolean): Promise<string> {
  const alg = rsa
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
    : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
  // The token tool writes a minimal subject; the RA's holder data replaces it (as in practice).
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=token', keys, signingAlgorithm: alg });
  return csr.toString('pem');
}

export async function seedRegistry(service: Service, count: number, options: { seed?: number; onProgress?: SeedProgress } = {}): Promise<SeedResult> {
  const started = performance.now();
  const rand = prng(options.seed ?? 2339);
  const expiredCount = Math.round(count * 0.04);
  const result: SeedResult = { issued: 0, revoked: 0, held: 0, importedExpired: 0, seconds: 0 };
  const progress = (done: number) => options.onProgress?.(done, count);
  const serials = await seedLive(service, rand, count - expiredCount, result, progress);
  await seedStatuses(service, rand, serials, result);
  await seedExpiredImports(service, rand, expiredCount, result, progress);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

type Rand = ReturnType<typeof prng>;

/** Live certificates: officials' signing certificates, organisation seals and a few TLS servers. */
async function seedLive(service: Service, rand: Rand, liveCount: number, result: SeedResult, progress: (done: number) => void): Promise<string[]> {
  const { ca } = service.certificates;
  const serials: string[] = [];
  for (let i = 0; i < liveCount; i++) {
    const roll = rand.next();
    // TLS servers only under a zone the installation certifies (docs/ca.md, "Name policy").
    const zone = ca.profile('tls-server').dnsSuffixes[0];
    const kind = roll < 0.85 ? 'official-signing' : roll < 0.97 || !zone ? 'organisation-seal' : 'tls-server';
    const holder = holderFor(kind, rand, zone);
    const request = requestFromCsr(parseCsr(await csrFor(rand.next() < 0.05)), holder);
    const issued = await ca.issue({ actor: 'system:seed', request, profile: ca.profile(kind) });
    serials.push(issued.serial);
    result.issued++;
    progress(result.issued);
  }
  return serials;
}

function holderFor(kind: 'official-signing' | 'organisation-seal' | 'tls-server', rand: Rand, zone = 'soctrang.gov.vn'): { subject: SubjectFields; emails: string[]; dnsNames: string[] } {
  const [agency, units] = rand.pick(AGENCIES);
  if (kind === 'official-signing') {
    const name = `${rand.pick(FAMILY)} ${rand.pick(MIDDLE)} ${rand.pick(GIVEN)}`;
    const female = name.includes('Thị');
    const born = 1965 + Math.floor(rand.next() * 35);
    const cccd = `094${born >= 2000 ? (female ? 3 : 2) : female ? 1 : 0}${String(born % 100).padStart(2, '0')}${rand.digits(6)}`;
    const email = `${ASCII(name).split(' ').reverse().join('.')}.${rand.digits(3)}@soctrang.gov.vn`;
    return { subject: { C: 'VN', L: PROVINCE, O: agency, OU: [rand.pick(units)], CN: name, UID: [`CCCD:${cccd}`], E: email }, emails: [email], dnsNames: [] };
  }
  if (kind === 'organisation-seal') {
    // Organisations: CN=<agency>, O=<parent body>, a tax or budget-unit code (docs/ca.md).
    const subject = { C: 'VN', L: PROVINCE, O: AGENCIES[0][0], OU: [rand.pick(units)], CN: agency, UID: rand.next() < 0.5 ? [`MST:${taxCode(rand)}`] : [`MNS:${rand.digits(7)}`] };
    return { subject, emails: [], dnsNames: [] };
  }
  const host = `${ASCII(rand.pick(units)).replace(/[^a-z]+/g, '')}${rand.digits(2)}.${zone}`;
  return { subject: { C: 'VN', L: PROVINCE, O: agency, CN: host }, emails: [], dnsNames: [host] };
}

/** Revocations and holds, as the registry of a working province has them. */
async function seedStatuses(service: Service, rand: Rand, serials: string[], result: SeedResult): Promise<void> {
  const { ca } = service.certificates;
  const reasons: RevocationReasonName[] = ['superseded', 'affiliationChanged', 'cessationOfOperation', 'keyCompromise', 'privilegeWithdrawn'];
  for (const serial of serials) {
    const roll = rand.next();
    if (roll < 0.05) {
      await ca.changeStatus({ actor: 'system:seed', serial, action: 'revoke', reason: rand.pick(reasons), comment: 'demo registry' });
      result.revoked++;
    } else if (roll < 0.06) {
      await ca.changeStatus({ actor: 'system:seed', serial, action: 'hold', comment: 'demo registry' });
      result.held++;
    }
  }
}

/** Expired certificates of the previous provider, imported with the registry. */
async function seedExpiredImports(service: Service, rand: Rand, expiredCount: number, result: SeedResult, progress: (done: number) => void): Promise<void> {
  const { ca } = service.certificates;
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-legacy-'));
  try {
    const store = new FileKeyStore({ directory: dir, passphrase: 'legacy-ca-throwaway-passphrase', kdfIterations: 1_000 });
    const past = new Date(service.clock.now().getTime() - 6 * 365 * 86_400_000);
    const publicUrl = 'http://ca.legacy.invalid';
    const rootKey = await store.generate({ type: 'ec', curve: 'P-256' }, 'legacy-root');
    const root = await createRootCertificate({ id: 'legacy-root', key: rootKey, subject: { C: 'VN', O: 'Nhà cung cấp cũ (demo)', CN: 'Legacy Root CA (demo)' }, profile: ca.profile('root-ca'), now: past, serial: newSerial(), publicUrl });
    const subKey = await store.generate({ type: 'ec', curve: 'P-256' }, 'legacy-issuing');
    const sub = await createIssuingCertificate({ id: 'legacy-issuing', key: subKey, subject: { C: 'VN', O: 'Nhà cung cấp cũ (demo)', CN: 'Legacy Issuing CA (demo)' }, profile: ca.profile('issuing-ca'), parent: root.issuer, parentKey: rootKey, now: past, serial: newSerial(), publicUrl });
    const pems: string[] = [];
    for (let i = 0; i < expiredCount; i++) {
      const [agency] = rand.pick(AGENCIES);
      const name = `${rand.pick(FAMILY)} ${rand.pick(MIDDLE)} ${rand.pick(GIVEN)}`;
      const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
      const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
      const issuedAt = new Date(past.getTime() + (1 + rand.next() * 300) * 86_400_000);
      const prepared = prepareCertificate({
        request: requestForKey(spki, { C: 'VN', L: PROVINCE, O: agency, CN: name, UID: [`CCCD:094${rand.digits(9)}`] }),
        profile: ca.profile('official-signing'),
        issuer: sub.issuer,
        now: issuedAt,
        serial: newSerial(),
      });
      pems.push(encodePem(await signCertificate(prepared, sub.issuer, subKey), 'CERTIFICATE'));
    }
    if (pems.length) {
      const imported = await service.certificates.importCertificates('system:seed', pems.join(''));
      result.importedExpired = imported.imported.length;
      progress(result.issued + result.importedExpired);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
