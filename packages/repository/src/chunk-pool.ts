import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkProblem } from './codec/chunk-codec.mjs';
import { RepositoryError } from './errors.js';

type Pending = { resolve: (m: WorkerReply) => void; reject: (e: Error) => void };
type WorkerReply = {
  id: number;
  error?: string;
  ms?: number;
  buf?: ArrayBuffer;
  out?: ArrayBuffer;
  file?: ArrayBuffer;
  digest?: ArrayBuffer | null;
  n?: number;
  ok?: boolean;
  rawLength?: number;
  problem?: ChunkProblem;
  detail?: string;
};
type Slot = { worker: Worker; inFlight: number; pending: Map<number, Pending> };

export type DecodeResult = { ok: true; rawLength: number } | { ok: false; problem: ChunkProblem; detail: string };

/** A buffer that owns its whole ArrayBuffer, so it can be transferred to a worker and back. */
export const transferable = (n: number): Buffer => Buffer.allocUnsafeSlow(n);

const whole = (b: Buffer): ArrayBuffer => {
  if (b.byteOffset !== 0 || b.buffer.byteLength !== b.length || !(b.buffer instanceof ArrayBuffer)) {
    throw new RepositoryError('BAD_ARGUMENT', 'chunk pool buffers must own their ArrayBuffer (use transferable())');
  }
  return b.buffer;
};

/**
 * Worker threads for the CPU-heavy chunk work (SHA-256, zero check, zstd, CRC32C).
 * Buffers are transferred, never copied: after a call the caller's Buffer is detached
 * and the one in the reply is the same memory. close() must be called (the threads
 * keep the process alive otherwise).
 */
export class ChunkPool {
  private readonly slots: Slot[];
  private nextId = 1;
  private closed = false;
  /** Milliseconds the workers spent computing, summed over workers. */
  busyMs = 0;

  constructor(readonly size = Math.max(1, Math.min(2, availableParallelism()))) {
    const url = new URL('./codec/chunk-worker.mjs', import.meta.url);
    this.slots = Array.from({ length: size }, () => {
      const slot: Slot = { worker: new Worker(url), inFlight: 0, pending: new Map() };
      slot.worker.on('message', (m: WorkerReply) => {
        const p = slot.pending.get(m.id);
        if (!p) return;
        slot.pending.delete(m.id);
        slot.inFlight--;
        this.busyMs += m.ms ?? 0;
        p.resolve(m);
      });
      const fail = (e: Error) => {
        for (const p of slot.pending.values()) p.reject(new RepositoryError('REPO_IO', `chunk worker failed: ${e.message}`, { cause: e }));
        slot.pending.clear();
        slot.inFlight = 0;
      };
      slot.worker.on('error', fail);
      slot.worker.on('exit', (code) => {
        if (!this.closed) fail(new Error(`exited with code ${code}`));
      });
      return slot;
    });
  }

  private call(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new RepositoryError('BAD_ARGUMENT', 'the chunk pool is closed'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.inFlight < slot.inFlight) slot = s;
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.inFlight++;
      slot.worker.postMessage({ ...message, id }, transfer);
    }).then((m) => {
      if (m.error) throw new RepositoryError('REPO_IO', `chunk worker: ${m.error}`);
      return m;
    });
  }

  /** Zero check and SHA-256 of buf[0, length). digest null: the block is all zeros. */
  async hash(buf: Buffer, length: number): Promise<{ buf: Buffer; digest: Buffer | null }> {
    const ab = whole(buf);
    const m = await this.call({ op: 'hash', buf: ab, length }, [ab]);
    return { buf: Buffer.from(m.buf!), digest: m.digest ? Buffer.from(m.digest) : null };
  }

  /** Encodes buf[0, length) as a chunk file into out (maxChunkBytes long); n is the file length. */
  async encode(buf: Buffer, length: number, level: number | null, out: Buffer): Promise<{ buf: Buffer; out: Buffer; n: number }> {
    const a = whole(buf);
    const b = whole(out);
    const m = await this.call({ op: 'encode', buf: a, length, level, out: b }, [a, b]);
    return { buf: Buffer.from(m.buf!), out: Buffer.from(m.out!), n: m.n! };
  }

  /** Checks and decodes the chunk file in file[0, fileLength) into out; checks SHA-256 when digest is given. */
  async decode(file: Buffer, fileLength: number, out: Buffer, digest: Buffer | null): Promise<{ file: Buffer; out: Buffer; result: DecodeResult }> {
    const a = whole(file);
    const b = whole(out);
    const d = digest ? Uint8Array.from(digest).buffer : null;
    const m = await this.call({ op: 'decode', file: a, fileLength, out: b, digest: d }, [a, b]);
    const result: DecodeResult = m.ok ? { ok: true, rawLength: m.rawLength! } : { ok: false, problem: m.problem!, detail: m.detail! };
    return { file: Buffer.from(m.file!), out: Buffer.from(m.out!), result };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
