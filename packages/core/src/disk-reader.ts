/**
 * What the data pipeline reads a disk through: a file now, an NBD export of a libvirt
 * backup job or of qemu-nbd later. One shape so that the pipeline never knows which.
 */
export type DiskExtent = {
  offset: number;
  length: number;
  /** The source says this range reads as zeros (a hole, or zero-allocated). */
  zero: boolean;
};

export type ExtentMode =
  /** Extents list the allocated ranges; a range not listed reads as zeros. */
  | 'allocated'
  /**
   * Extents list what changed since the base point (CBT); a range not listed is
   * unchanged and is carried over from the base point without being read.
   */
  | 'changed';

export type DiskReader = {
  /** Virtual size of the disk in bytes. */
  readonly size: number;
  readonly mode: ExtentMode;
  /** Ordered, non-overlapping extents, in ascending offset order. */
  extents(): AsyncIterable<DiskExtent>;
  /** Reads exactly `length` bytes at `offset` (the last block may be short of a full block). */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
};
