import type { VerifyProblem, VerifyPointReport, VerifyReport } from './types.js';
import type { LoadedPoint, ReadablePoint } from './verify-load.js';

/** One block that references a chunk: indexes into the readable points, their disks, and the disk's blocks. */
export type Ref = { point: number; disk: number; block: number };

type BadRange = VerifyReport['bad'][number]['ranges'][number];

/**
 * The report from what verify found. `refs` lists, per chunk, the blocks that reference it
 * in the order the points were read, so a point's references to one chunk are adjacent.
 */
export function buildReport(
  loaded: LoadedPoint[],
  readable: ReadablePoint[],
  refs: Map<string, Ref[]>,
  bad: { hex: string; problem: VerifyProblem }[],
): VerifyReport {
  const chunks = readable.map(() => 0);
  for (const list of refs.values()) forEachPoint(list, (p) => chunks[p]!++);
  const badOfPoint = readable.map(() => 0);
  const badOfDisk = readable.map((p) => p.disks.map(() => 0));
  for (const { hex } of bad) {
    const list = refs.get(hex)!;
    forEachPoint(list, (p) => badOfPoint[p]!++);
    const disks = new Set<string>();
    for (const r of list) {
      if (disks.has(`${r.point}/${r.disk}`)) continue;
      disks.add(`${r.point}/${r.disk}`);
      badOfDisk[r.point]![r.disk]!++;
    }
  }
  let next = 0;
  const points = loaded.map((l): VerifyPointReport => {
    if (l.error) return { id: l.id, state: 'unreadable', error: l.error };
    const pi = next++;
    const disks = l.disks.map((d, di) => {
      const badChunks = badOfDisk[pi]![di]!;
      return { name: d.name, state: d.issue || badChunks > 0 ? ('damaged' as const) : ('good' as const), index: d.issue, badChunks };
    });
    const state = disks.some((d) => d.state === 'damaged') ? 'damaged' : 'good';
    return { id: l.id, state, checks: l.checks, chunks: chunks[pi]!, badChunks: badOfPoint[pi]!, disks };
  });
  const count = (state: VerifyPointReport['state']) => points.filter((p) => p.state === state).length;
  return {
    chunksChecked: refs.size,
    bad: bad.map(({ hex, problem }) => {
      const list = refs.get(hex)!;
      return { digest: hex, problem, points: [...new Set(list.map((r) => readable[r.point]!.id))], ranges: toRanges(list, readable) };
    }),
    points,
    pointsChecked: points.length,
    pointsGood: count('good'),
    pointsDamaged: count('damaged'),
    pointsUnreadable: count('unreadable'),
  };
}

/** Calls f once per point among a chunk's references (adjacent by construction). */
function forEachPoint(list: Ref[], f: (point: number) => void): void {
  let last = -1;
  for (const r of list) {
    if (r.point === last) continue;
    last = r.point;
    f(r.point);
  }
}

/** Consecutive blocks of one disk of one point make one range. */
function toRanges(list: Ref[], points: ReadablePoint[]): BadRange[] {
  const out: BadRange[] = [];
  let last: { ref: Ref; range: BadRange } | null = null;
  for (const ref of list) {
    const p = points[ref.point]!;
    const d = p.disks[ref.disk]!;
    const offset = ref.block * d.blockSize;
    const length = Math.min(d.blockSize, d.size - offset);
    if (last && last.ref.point === ref.point && last.ref.disk === ref.disk && last.range.offset + last.range.length === offset) {
      last.range.length += length;
      last.ref = ref;
      continue;
    }
    const range: BadRange = { pointId: p.id, disk: d.name, offset, length };
    out.push(range);
    last = { ref, range };
  }
  return out;
}
