import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ChunkStore } from './chunk-store.js';
import { RepositoryError, errnoOf, ioError } from './errors.js';
import { fsyncPath, writeFileExclusive } from './fs-util.js';
import { BLOCK_SIZES, DEFAULT_BLOCK_SIZE, POINT_FILE, REPO_FILE, REPO_FORMAT_VERSION, isBlockSize, isCodec, parsePointId, pointDir } from './format.js';
import { collectGarbage } from './gc.js';
import { toSummary } from './manifest.js';
import { PointReader } from './point-reader.js';
import { PointWriter, type BeginPointOptions } from './point-writer.js';
import { readManifest, scanPoints, type PointScan } from './points.js';
import type { BlockSize, GcReport, PointSummary, RepositoryStats, VerifyReport } from './types.js';
import { verifyPoints, type VerifyOptions } from './verify.js';

/** strongbox.json; FORMAT.md "strongbox.json" describes every field. */
export type RepositoryConfig = {
  format: 'strongbox-repository';
  formatVersion: number;
  id: string;
  created: string;
  blockSize: BlockSize;
  blockSizes: number[];
  hash: 'sha256';
  cipher: 'none';
};

const SUBDIRS = ['chunks', 'points', 'locks', 'gc'];

export class Repository {
  private constructor(
    readonly path: string,
    readonly config: RepositoryConfig,
  ) {}

  get id(): string {
    return this.config.id;
  }

  /**
   * Creates a repository in an empty (or absent) folder; refuses anything else. A folder
   * holding only what an unfinished creation leaves (the empty sub-folders, before
   * strongbox.json) counts as empty. Two creators at once: one strongbox.json wins, the
   * other gets REPO_EXISTS (openOrCreate then opens the winner's).
   */
  static async create(path: string, opts: { blockSize?: BlockSize } = {}): Promise<Repository> {
    const root = resolve(path);
    const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!isBlockSize(blockSize)) throw new RepositoryError('BAD_ARGUMENT', `block size ${String(blockSize)} is not one of ${BLOCK_SIZES.join(', ')}`);
    let existing: string[] | null = null;
    try {
      existing = await readdir(root);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw ioError(e, `reading ${root}`);
    }
    if (existing?.includes(REPO_FILE)) throw new RepositoryError('REPO_EXISTS', `${root} already holds a Strongbox repository`);
    const foreign = (existing ?? []).filter((name) => !SUBDIRS.includes(name) && !name.startsWith(`${REPO_FILE}.tmp-`));
    if (foreign.length > 0)
      throw new RepositoryError(
        'REPO_EXISTS',
        `${root} is not empty and is not a Strongbox repository (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`,
      );
    const config: RepositoryConfig = {
      format: 'strongbox-repository',
      formatVersion: REPO_FORMAT_VERSION,
      id: randomUUID(),
      created: new Date().toISOString(),
      blockSize,
      blockSizes: [...BLOCK_SIZES],
      hash: 'sha256',
      cipher: 'none',
    };
    let written = false;
    try {
      await mkdir(root, { recursive: true });
      for (const d of SUBDIRS) await mkdir(join(root, d), { recursive: true });
      // strongbox.json last: a folder without it is not a repository, and can be created again.
      written = await writeFileExclusive(join(root, REPO_FILE), JSON.stringify(config, null, 2) + '\n', `writing ${REPO_FILE}`);
    } catch (e) {
      // Only empty folders go (rmdir refuses others): a concurrent creator may own them.
      for (const d of SUBDIRS) await rmdir(join(root, d)).catch(() => undefined);
      if (existing === null) await rmdir(root).catch(() => undefined);
      throw ioError(e, `creating a repository in ${root}`);
    }
    if (!written) throw new RepositoryError('REPO_EXISTS', `${root} already holds a Strongbox repository (created meanwhile)`);
    return new Repository(root, config);
  }

  /**
   * The repository at `path`, created when the folder is absent or empty (as a mover does
   * with a new repository folder). Safe with several movers doing it at once.
   */
  static async openOrCreate(path: string, opts: { blockSize?: BlockSize } = {}): Promise<Repository> {
    try {
      return await Repository.open(path);
    } catch (e) {
      if (!(e instanceof RepositoryError && e.code === 'REPO_NOT_FOUND')) throw e;
    }
    try {
      return await Repository.create(path, opts);
    } catch (e) {
      // Someone else's strongbox.json came first: that repository is the one to open.
      if (e instanceof RepositoryError && e.code === 'REPO_EXISTS' && (await Repository.existsAt(path))) return Repository.open(path);
      throw e;
    }
  }

  /** Whether a repository's strongbox.json is at `path` (absent and unreadable alike: no). */
  static async existsAt(path: string): Promise<boolean> {
    return stat(join(resolve(path), REPO_FILE)).then(
      () => true,
      () => false, // absent or unreadable: a caller that must know why opens it and gets the error
    );
  }

  static async open(path: string): Promise<Repository> {
    const root = resolve(path);
    const file = join(root, REPO_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw new RepositoryError('REPO_NOT_FOUND', `${root} is not a Strongbox repository (no ${REPO_FILE})`, { cause: e });
      throw ioError(e, `reading ${file}`);
    }
    const config = parseConfig(text, file);
    for (const d of SUBDIRS) {
      // A copy made by a tool that drops empty folders (object sync, some archivers) lacks them.
      await mkdir(join(root, d), { recursive: true }).catch((e: unknown) => Promise.reject(ioError(e, `opening ${root}`)));
    }
    return new Repository(root, config);
  }

  beginPoint(opts: BeginPointOptions): Promise<PointWriter> {
    if (opts.blockSize !== undefined && !isBlockSize(opts.blockSize))
      throw new RepositoryError('BAD_ARGUMENT', `block size ${String(opts.blockSize)} is not one of ${BLOCK_SIZES.join(', ')}`);
    if (opts.codec !== undefined && !isCodec(opts.codec)) throw new RepositoryError('BAD_ARGUMENT', `codec ${String(opts.codec)}`);
    return PointWriter.begin(this.path, { blockSize: this.config.blockSize }, opts);
  }

  /** Every readable point (of one VM), in ascending time. Points this build cannot read are left out; see scan(). */
  async listPoints(vmId?: string): Promise<PointSummary[]> {
    const { points } = await scanPoints(this.path);
    return points.filter((p) => vmId === undefined || p.vmId === vmId).map(toSummary);
  }

  /** The catalog rebuilt from the folder alone, with the points that could not be read and unfinished folders. */
  scan(): Promise<PointScan> {
    return scanPoints(this.path);
  }

  async rescan(): Promise<PointSummary[]> {
    return (await scanPoints(this.path)).points.map(toSummary);
  }

  openPoint(id: string): Promise<PointReader> {
    return PointReader.open(this.path, id);
  }

  /** Removes a point: point.json first, so that a crash half-way leaves debris for GC, never a half point. */
  async deletePoint(id: string): Promise<void> {
    parsePointId(id);
    await readManifest(this.path, id).catch((e: unknown) => {
      // A point of a newer format can still be deleted: its folder is all there is to it.
      if (e instanceof RepositoryError && (e.code === 'POINT_VERSION' || e.code === 'POINT_CORRUPT')) return null;
      throw e;
    });
    const dir = pointDir(this.path, id);
    try {
      await unlink(join(dir, POINT_FILE));
      await fsyncPath(dir);
      await rm(dir, { recursive: true, force: true });
    } catch (e) {
      throw ioError(e, `deleting ${id}`);
    }
  }

  verify(opts: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyPoints(this.path, opts);
  }

  gc(opts: { marginMs?: number } = {}): Promise<GcReport> {
    return collectGarbage(this.path, opts.marginMs);
  }

  async stats(): Promise<RepositoryStats> {
    const { points } = await scanPoints(this.path);
    let chunks = 0;
    let bytes = 0;
    for await (const { name, path } of new ChunkStore(this.path).walk()) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      chunks++;
      bytes += (await stat(path)).size;
    }
    return { points: points.length, chunks, bytes };
  }
}

function parseConfig(text: string, file: string): RepositoryConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RepositoryError('REPO_CORRUPT', `${file} is not valid JSON (${(e as Error).message}); the repository cannot be opened`, { cause: e });
  }
  const c = raw as Partial<RepositoryConfig> | null;
  if (typeof c !== 'object' || c === null || c.format !== 'strongbox-repository')
    throw new RepositoryError('REPO_CORRUPT', `${file} does not describe a Strongbox repository`);
  if (c.formatVersion !== REPO_FORMAT_VERSION) {
    throw new RepositoryError(
      'REPO_VERSION',
      `${file}: repository format version ${JSON.stringify(c.formatVersion)} is not supported (this build reads ${REPO_FORMAT_VERSION})`,
    );
  }
  if (typeof c.id !== 'string' || !isBlockSize(c.blockSize) || c.hash !== 'sha256')
    throw new RepositoryError('REPO_CORRUPT', `${file}: id, blockSize or hash missing or malformed`);
  if (c.cipher !== 'none') throw new RepositoryError('REPO_VERSION', `${file}: cipher ${JSON.stringify(c.cipher)} is not supported by this build`);
  return c as RepositoryConfig;
}
