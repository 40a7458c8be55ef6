/**
 * Bytes a long-lived cache may keep. Node hands out small Buffers as views of a shared 8 KiB slab
 * (Buffer.allocUnsafe, Buffer.from(string, 'hex'): pg's bytea parser, which is how an OCSP
 * response comes out of PostgreSQL), and a view keeps its whole slab alive. A cache of 100,000
 * responses of about 500 bytes then held up to 800 MiB, not 50 (issue 20: the soak's heap
 * snapshots put 167 of 167 new cached OCSP responses on a slab of their own, 8 KiB each). So a
 * view of a larger buffer is copied into memory of its own size before it is kept; bytes that
 * already own their whole buffer are kept as they are.
 */
export function ownBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  // new Uint8Array(view) copies into a new ArrayBuffer of exactly its length (Buffer.from(buffer) would copy into the slab again).
  const copy = new Uint8Array(bytes);
  return Buffer.from(copy.buffer, 0, copy.byteLength);
}
