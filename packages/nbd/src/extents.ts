import type { DiskExtent } from '@strongbox/core';
import type { NbdClient } from './client.js';
import { NbdError } from './errors.js';
import { STATE_DIRTY, STATE_HOLE, STATE_ZERO } from './protocol.js';

/** A stretch of the export on which every queried context has constant flags. */
export type StatusSegment = { offset: number; length: number; flags: number[] };

/** BLOCK_STATUS lengths are 32-bit; ask for at most this much at once. */
const STATUS_WINDOW = 1024 * 1024 * 1024;

/**
 * Walks the whole export with BLOCK_STATUS and yields segments on which each of the
 * given contexts has constant flags. A server may answer a shorter range than asked,
 * and each context separately: the walk advances to the shortest answer.
 */
export async function* walkStatus(client: NbdClient, contextIds: number[], from = 0, to = client.size): AsyncGenerator<StatusSegment> {
  let pos = from;
  while (pos < to) {
    const length = Math.min(STATUS_WINDOW, to - pos);
    const answer = await client.blockStatus(pos, length);
    const lists = contextIds.map((id) => {
      const list = answer.get(id);
      if (!list || list.length === 0) throw new NbdError('NBD_PROTOCOL', `block status at ${pos} has no answer for context ${id}`);
      return list;
    });
    const ends = lists.map((list) => Math.min(pos + list.reduce((s, d) => s + d.length, 0), pos + length));
    const end = Math.min(...ends);
    if (end <= pos) throw new NbdError('NBD_PROTOCOL', `block status at ${pos} made no progress`);
    const index = lists.map(() => 0);
    const segEnd = lists.map((list) => pos + list[0]!.length);
    let at = pos;
    while (at < end) {
      // Step past descriptors that end at or before `at` (zero-length ones included).
      lists.forEach((list, i) => {
        while (segEnd[i]! <= at && index[i]! < list.length - 1) {
          index[i]!++;
          segEnd[i]! += list[index[i]!]!.length;
        }
      });
      const next = Math.min(end, ...segEnd);
      if (next <= at) throw new NbdError('NBD_PROTOCOL', `block status descriptors at ${at} do not add up`);
      yield { offset: at, length: next - at, flags: lists.map((list, i) => list[index[i]!]!.flags) };
      at = next;
    }
    pos = end;
  }
}

/** Merges adjacent extents with the same zero flag. */
export async function* coalesce(extents: AsyncIterable<DiskExtent>): AsyncGenerator<DiskExtent> {
  let current: DiskExtent | null = null;
  for await (const e of extents) {
    if (current && current.offset + current.length === e.offset && current.zero === e.zero) {
      current.length += e.length;
      continue;
    }
    if (current) yield current;
    current = { ...e };
  }
  if (current) yield current;
}

/**
 * Allocated extents from `base:allocation`: a range that reads as zeros and is a hole is
 * left out; one that reads as zeros but is allocated is listed with `zero: true`;
 * everything else (including a hole not known to read as zeros) must be read.
 */
export async function* allocatedExtents(client: NbdClient, allocationId: number): AsyncGenerator<DiskExtent> {
  for await (const s of walkStatus(client, [allocationId])) {
    const flags = s.flags[0]!;
    if (flags & STATE_ZERO && flags & STATE_HOLE) continue;
    yield { offset: s.offset, length: s.length, zero: (flags & STATE_ZERO) !== 0 };
  }
}

/** Changed extents from a dirty bitmap context, marked zero where `base:allocation` says so. */
export async function* changedExtents(client: NbdClient, bitmapId: number, allocationId?: number): AsyncGenerator<DiskExtent> {
  const ids = allocationId === undefined ? [bitmapId] : [bitmapId, allocationId];
  for await (const s of walkStatus(client, ids)) {
    if (!(s.flags[0]! & STATE_DIRTY)) continue;
    const zero = allocationId !== undefined && (s.flags[1]! & STATE_ZERO) !== 0;
    yield { offset: s.offset, length: s.length, zero };
  }
}
