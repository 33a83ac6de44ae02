import type { DiskExtent, DiskReader, ExtentMode } from '@strongbox/core';
import { NbdClient, type NbdClientOptions, type NbdStats } from './client.js';
import { NbdError } from './errors.js';
import { allocatedExtents, changedExtents, coalesce } from './extents.js';
import { BASE_ALLOCATION } from './protocol.js';

export type NbdDiskReaderOptions = Omit<NbdClientOptions, 'metaContexts'> &
  (
    | { mode: 'allocated' }
    | {
        mode: 'changed';
        /** The meta context listing changes, e.g. `qemu:dirty-bitmap:backup-vda`. */
        dirtyContext: string;
      }
  );

/** The pipeline's DiskReader over an NBD export: extents from BLOCK_STATUS, data from READ. */
export class NbdDiskReader implements DiskReader {
  private constructor(
    private readonly client: NbdClient,
    readonly mode: ExtentMode,
    private readonly dirtyContext: string | null,
  ) {}

  static async open(options: NbdDiskReaderOptions): Promise<NbdDiskReader> {
    const dirty = options.mode === 'changed' ? options.dirtyContext : null;
    const metaContexts = dirty ? [BASE_ALLOCATION, dirty] : [BASE_ALLOCATION];
    const client = await NbdClient.connect({ ...options, metaContexts });
    return new NbdDiskReader(client, options.mode, dirty);
  }

  get size(): number {
    return this.client.size;
  }

  get stats(): NbdStats {
    return this.client.stats;
  }

  extents(): AsyncIterable<DiskExtent> {
    const allocation = this.client.contextId(BASE_ALLOCATION);
    if (allocation === undefined) throw new NbdError('NBD_META_CONTEXT', `the export has no ${BASE_ALLOCATION} context`);
    if (this.dirtyContext === null) return coalesce(allocatedExtents(this.client, allocation));
    const bitmap = this.client.contextId(this.dirtyContext);
    if (bitmap === undefined) throw new NbdError('NBD_META_CONTEXT', `the export has no ${this.dirtyContext} context`);
    return coalesce(changedExtents(this.client, bitmap, allocation));
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.client.read(offset, length);
  }

  /** Like `read`, into a caller's (recycled) buffer. */
  readInto(offset: number, target: Buffer): Promise<Buffer> {
    return this.client.readInto(offset, target);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
