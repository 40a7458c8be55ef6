import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestService } from '../../support/test-app.js';
import { hasProgram } from '../../support/system-tools.js';
import { run, tmp } from '../../support/ca-helpers.js';
import { cadesPdf, issueSigner, minimalPdf, type Signer } from '../validation/validation-support.js';
import { appendUpdate } from '../validation/proof-support.js';

export interface PortalFixtures {
  valid: Buffer;
  changed: Buffer;
  revoked: Buffer;
  forged: Buffer;
  /** An e-invoice signed by alice with xmlsec1 (null without xmlsec1). */
  invoice: Buffer | null;
  alice: Signer;
}

/** The four PDFs of acceptance 1: PAdES signatures by signers of the test service's own CA. */
export async function portalFixtures(t: TestService, marker: string): Promise<PortalFixtures> {
  const dir = tmp('tinnhiem-verify-');
  const alice = await issueSigner(t, dir, 'alice', 'rsa', '094185000011');
  const carol = await issueSigner(t, dir, 'carol', 'rsa', '094185000013');
  const valid = cadesPdf(minimalPdf(`Quyet dinh ${marker}`), alice, 'sig1');
  const changed = appendUpdate(valid, [[4, '<< /Length 44 >>\nstream\nBT /F1 18 Tf 72 700 Td (Da huy bo) Tj ET\nendstream']], 8);
  const revoked = cadesPdf(minimalPdf(`Cong van ${marker}`), carol, 'sig1');
  await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: carol.serial, issuerId: carol.issuerId, action: 'revoke', reason: 'keyCompromise' });
  const forged = Buffer.from(valid);
  forged[forged.indexOf('Quyet dinh')] = 'K'.charCodeAt(0);
  const invoice = hasProgram('xmlsec1') ? signedInvoice(alice, marker) : null;
  return { valid, changed, revoked, forged, invoice, alice };
}

/** Every file under `dir` with its size and modification time. */
export function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out.set(p, `${s.size}:${s.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

/** Whether any file under `dir` contains `needle`. */
export function anyFileContains(dir: string, needle: Buffer): string | null {
  for (const file of filesUnder(dir).keys()) if (readFileSync(file).includes(needle)) return file;
  return null;
}

/** Row count of every table, and the tables whose rows (as text, bytea in hex) contain `marker`. */
export async function tableScan(t: TestService, marker: string): Promise<{ counts: Record<string, number>; containing: string[] }> {
  const knex = t.service.db.knex;
  const rows = (await knex.raw("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name")) as { rows: Array<{ table_name: string }> };
  const counts: Record<string, number> = {};
  const containing: string[] = [];
  const hex = Buffer.from(marker, 'latin1').toString('hex');
  for (const { table_name: name } of rows.rows) {
    const r = (await knex.raw(`SELECT count(*)::int AS n, count(*) FILTER (WHERE t::text LIKE ? OR t::text LIKE ?)::int AS m FROM "${name}" t`, [`%${marker}%`, `%${hex}%`])) as { rows: Array<{ n: number; m: number }> };
    counts[name] = Number(r.rows[0].n);
    if (Number(r.rows[0].m)) containing.push(name);
  }
  return { counts, containing };
}

/** A multipart upload to /verify from an address (TRUST_PROXY=1 in these tests). */
export async function upload(t: TestService, file: Buffer, o: { format?: 'html' | 'json' | 'pdf'; address?: string; name?: string; lang?: 'vi' | 'en'; document?: Buffer } = {}): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file)]), o.name ?? 'doc.pdf');
  if (o.document) form.append('document', new Blob([new Uint8Array(o.document)]), 'original.bin');
  form.append('format', o.format ?? 'html');
  return fetch(`${t.url}/verify?lang=${o.lang ?? 'en'}`, { method: 'POST', body: form, headers: { 'x-forwarded-for': o.address ?? '198.51.100.1' } });
}

/**
 * An e-invoice (root HDon, data DLHDon with the Id the seller's signature references, the
 * signature under DSCKS/NBan), signed by `signer` with xmlsec1: enveloped XMLDSig, RSA-SHA256.
 */
export function signedInvoice(signer: Signer, marker: string): Buffer {
  const dir = tmp('tinnhiem-invoice-');
  const template = `<?xml version="1.0" encoding="UTF-8"?>
<HDon><DLHDon Id="DLHDon-1"><TTChung><THDon>HOA DON GIA TRI GIA TANG</THDon><SHDon>${marker}</SHDon></TTChung><NDHDon><TToan><TgTTTBSo>1100000</TgTTTBSo></TToan></NDHDon></DLHDon><DSCKS><NBan><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI="#DLHDon-1"><Transforms><Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature></NBan></DSCKS></HDon>
`;
  const input = join(dir, 'invoice-template.xml');
  writeFileSync(input, template);
  const output = join(dir, 'invoice.xml');
  run('xmlsec1', ['--sign', '--privkey-pem', `${signer.key},${signer.cert}`, '--id-attr:Id', 'DLHDon', '--output', output, input]);
  return readFileSync(output);
}

