import { generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from '../service/service.js';
import type { RevocationReasonName } from '../../ca/records.js';
import { mstCheckDigit } from '../../ca/asn1/vn-identifiers.js';
import { bitString, derTag, encodePem, tlv } from '../../ca/asn1/der.js';
import type { SubjectFields } from '../../ca/asn1/names.js';
import { FileKeyStore } from '../../ca/keys/file-key-store.js';
import { createIssuingCertificate, createRootCertificate } from '../../ca/issuance/ca-certificates.js';
import { prepareCertificate } from '../../ca/issuance/prepare.js';
import { signCertificate } from '../../ca/issuance/sign.js';
import { newSerial } from '../../ca/issuance/serial.js';
import { requestForKey } from '../../ca/issuance/request.js';
import { parseCsr } from '../../ca/issuance/csr.js';
import { requestFromCsr } from '../../ca/issuance/request.js';
import type { BatchItem, StatusChangeItem } from '../certificates/batch-issuance.js';
import { demoRsaKey, demoRsaKeyCount } from './demo-rsa-keys.js';

/**
 * A realistic demo registry: officials across the province's agencies (personal signing
 * certificates), organisation seals, a few TLS servers; some revoked, some on hold, and some
 * expired certificates of a previous CA imported with the registry. Real keys (ECDSA P-256, some
 * RSA-2048: those from a published demo pool while it lasts, src/dev/demo-rsa-keys.ts) and real
 * CSRs, issued through the CA's own pipeline. Deterministic for a given seed.
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

/** A fresh key pair, generated on libuv's thread pool (RSA-2048 takes tens of milliseconds: never on the event loop). */
function keyPair(rsa: boolean): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) => (err ? reject(err) : resolve({ publicKey, privateKey }));
    if (rsa) generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, done);
    else generateKeyPair('ec', { namedCurve: 'P-256' }, done);
  });
}

// RFC 2986 §4: CertificationRequestInfo { version 0, subject CN=token, SPKI, attributes [0] {} }.
const CSR_VERSION_AND_SUBJECT = Uint8Array.from([0x02, 0x01, 0x00, 0x30, 0x10, 0x31, 0x0e, 0x30, 0x0c, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x05, ...Buffer.from('token')]);
const NO_ATTRIBUTES = Uint8Array.of(derTag.explicit0, 0x00);
// ecdsa-with-SHA256 (RFC 5758 §3.2, no parameters); sha256WithRSAEncryption (RFC 4055 §5, NULL parameters).
const ECDSA_SHA256 = Uint8Array.from([0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
const RSA_SHA256 = Uint8Array.from([0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00]);

/**
 * A real PKCS#10 request (PEM) for a fresh key, as a holder's token tool makes it: a minimal
 * subject the RA's holder data replaces. Built directly in DER and signed with node:crypto, so a
 * demo registry of thousands costs milliseconds per request, not an ASN.1 library's round trips.
 */
export async function csrFor(rsa: boolean, pair?: { publicKey: KeyObject; privateKey: KeyObject }): Promise<string> {
  const { publicKey, privateKey } = pair ?? (await keyPair(rsa));
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const info = tlv(derTag.sequence, CSR_VERSION_AND_SUBJECT, spki, NO_ATTRIBUTES);
  const signature = new Uint8Array(sign('sha256', info, { key: privateKey, dsaEncoding: 'der' }));
  return encodePem(tlv(derTag.sequence, info, rsa ? RSA_SHA256 : ECDSA_SHA256, bitString(signature)), 'CERTIFICATE REQUEST');
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

/** Items per batch call: the size the RA officers' batch path takes (docs/ca.md, "Batch issuance"). */
const SEED_BATCH = 500;

/**
 * Live certificates: officials' signing certificates, organisation seals and a few TLS servers,
 * issued through the batch path (the CA's BatchIssuance, as the officers' batches are) in batches
 * of 500, while the next batch's keys are generated on the thread pool.
 */
async function seedLive(service: Service, rand: Rand, liveCount: number, result: SeedResult, progress: (done: number) => void): Promise<string[]> {
  const { ca, batch } = service.certificates;
  // TLS servers only under a zone the installation certifies (docs/ca.md, "Name policy").
  const zone = ca.profile('tls-server').dnsSuffixes[0];
  // The draws come first, in one order, so the registry stays the same for a given seed.
  const plan = Array.from({ length: liveCount }, () => {
    const roll = rand.next();
    const kind = roll < 0.85 ? 'official-signing' : roll < 0.97 || !zone ? 'organisation-seal' : 'tls-server';
    return { kind, holder: holderFor(kind, rand, zone), rsa: rand.next() < 0.05 } as const;
  });
  const serials: string[] = [];
  const pooled = await pooledRsaKeys(service, plan.filter((p) => p.rsa).length);
  let rsaSeen = 0;
  const poolKeyOf = plan.map((p) => (p.rsa ? pooled[rsaSeen++] : undefined));
  const csrsOf = (from: number) => Promise.all(plan.slice(from, from + SEED_BATCH).map((p, k) => csrFor(p.rsa, poolKeyOf[from + k])));
  let next = csrsOf(0);
  for (let from = 0; from < liveCount; from += SEED_BATCH) {
    const csrs = await next;
    if (from + SEED_BATCH < liveCount) next = csrsOf(from + SEED_BATCH);
    const items: BatchItem[] = csrs.map((csr, k) => ({ request: requestFromCsr(parseCsr(csr), plan[from + k].holder), profile: ca.profile(plan[from + k].kind) }));
    for (const outcome of await batch.issuance.issueMany('system:seed', items)) {
      if (!outcome.ok) throw outcome.error;
      serials.push(outcome.value.serial);
    }
    result.issued = serials.length;
    progress(result.issued);
  }
  return serials;
}

/**
 * Keys of the demo RSA pool (src/dev/demo-rsa-keys.ts) for the first `wanted` RSA holders, in
 * plan order (so the registry stays the same for a seed), each at most once; a pooled key the CA
 * would refuse now (blocked, or in a live certificate: the registry was seeded before) is left
 * out, and that holder (as any beyond the pool) gets a key generated afresh.
 */
async function pooledRsaKeys(service: Service, wanted: number): Promise<Array<{ publicKey: KeyObject; privateKey: KeyObject } | undefined>> {
  const keys = Array.from({ length: Math.min(wanted, demoRsaKeyCount()) }, (_, i) => demoRsaKey(i));
  const refused = await service.certificates.batch.issuance.keysRefused(keys.map((k) => new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }))));
  return keys.filter((_, i) => !refused.has(i));
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

/** Revocations and holds, as the registry of a working province has them: one batch, one CRL regeneration. */
async function seedStatuses(service: Service, rand: Rand, serials: string[], result: SeedResult): Promise<void> {
  const reasons: RevocationReasonName[] = ['superseded', 'affiliationChanged', 'cessationOfOperation', 'keyCompromise', 'privilegeWithdrawn'];
  const changes: StatusChangeItem[] = [];
  for (const serial of serials) {
    const roll = rand.next();
    if (roll < 0.05) changes.push({ serial, action: 'revoke', reason: rand.pick(reasons), comment: 'demo registry' });
    else if (roll < 0.06) changes.push({ serial, action: 'hold', comment: 'demo registry' });
  }
  for (let from = 0; from < changes.length; from += SEED_BATCH) {
    for (const outcome of await service.certificates.batch.issuance.changeStatusMany('system:seed', changes.slice(from, from + SEED_BATCH))) {
      if (!outcome.ok) throw outcome.error;
      if (outcome.value.status === 'revoked') result.revoked++;
      else result.held++;
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
    const keys = await Promise.all(Array.from({ length: expiredCount }, () => keyPair(false)));
    for (let i = 0; i < expiredCount; i++) {
      const [agency] = rand.pick(AGENCIES);
      const name = `${rand.pick(FAMILY)} ${rand.pick(MIDDLE)} ${rand.pick(GIVEN)}`;
      const spki = new Uint8Array(keys[i].publicKey.export({ type: 'spki', format: 'der' }));
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
