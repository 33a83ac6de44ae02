export declare const CHUNK_MAGIC: number;
export declare const CHUNK_VERSION: number;
export declare const HEADER_BYTES: number;
export declare const CODEC_NONE: number;
export declare const CODEC_ZSTD: number;
export type ChunkProblem = 'header' | 'truncated' | 'crc' | 'digest';
export declare function crc32c(buf: Uint8Array, seed?: number): number;
export declare function maxChunkBytes(rawLength: number): number;
export declare function encodeChunk(raw: Uint8Array, level: number | null, out: Uint8Array): number;
export declare function decodeChunk(
  file: Uint8Array,
  out: Uint8Array,
  digest: Uint8Array | null,
): { ok: true; rawLength: number } | { ok: false; problem: ChunkProblem; detail: string };
export declare function hashBlock(raw: Uint8Array, zeros: Uint8Array): Buffer | null;
