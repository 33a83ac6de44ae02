// One thread of the chunk pool (see ../chunk-pool.ts): hashing, zero checks, compression
// and decompression, the CPU-heavy work of backup, restore and verify. Buffers come and go
// as transferred ArrayBuffers, so nothing is copied between threads.
import { Buffer } from 'node:buffer';
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { decodeChunk, encodeChunk, hashBlock } from './chunk-codec.mjs';

// Calloc'd, so the zero pages cost no memory until compared against.
const zeros = Buffer.alloc(4 * 1024 * 1024);

parentPort.on('message', (m) => {
  const started = performance.now();
  try {
    if (m.op === 'hash') {
      const digest = hashBlock(new Uint8Array(m.buf, 0, m.length), zeros);
      const d = digest ? digest.buffer.slice(digest.byteOffset, digest.byteOffset + 32) : null;
      parentPort.postMessage({ id: m.id, buf: m.buf, digest: d, ms: performance.now() - started }, [m.buf]);
    } else if (m.op === 'encode') {
      const n = encodeChunk(new Uint8Array(m.buf, 0, m.length), m.level, new Uint8Array(m.out));
      parentPort.postMessage({ id: m.id, buf: m.buf, out: m.out, n, ms: performance.now() - started }, [m.buf, m.out]);
    } else if (m.op === 'decode') {
      const r = decodeChunk(new Uint8Array(m.file, 0, m.fileLength), new Uint8Array(m.out), m.digest ? new Uint8Array(m.digest) : null);
      parentPort.postMessage({ id: m.id, file: m.file, out: m.out, ...r, ms: performance.now() - started }, [m.file, m.out]);
    } else {
      throw new Error(`unknown op ${String(m.op)}`);
    }
  } catch (e) {
    // Hand the buffers back even on failure so that the caller's pools stay whole.
    const transfer = [m.buf, m.out, m.file].filter((b) => b instanceof ArrayBuffer && b.byteLength > 0);
    parentPort.postMessage({ id: m.id, buf: m.buf, out: m.out, file: m.file, error: e instanceof Error ? e.message : String(e) }, transfer);
  }
});
