/** [milliseconds since the epoch, bytes read so far]: what a mover records of a disk task every second. */
export type Sample = [t: number, bytes: number];

export type ThroughputPoint = { t: number; bytesPerSecond: number };

/** A task's bytes read at `t`, linear between its samples (none before the first). */
function bytesAt(samples: readonly Sample[], t: number): number {
  if (samples.length === 0 || t < samples[0]![0]) return 0;
  let lo = 0;
  let hi = samples.length - 1;
  if (t >= samples[hi]![0]) return samples[hi]![1];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]![0] <= t) lo = mid;
    else hi = mid;
  }
  const [t0, b0] = samples[lo]!;
  const [t1, b1] = samples[hi]!;
  return b0 + ((b1 - b0) * (t - t0)) / (t1 - t0);
}

/**
 * A session's read rate over time, from its tasks' samples: the sum of their bytes read on
 * an even grid of `points` instants from `from` to `to`, differenced. Tasks that ran at the
 * same time add up, as the session's total throughput does.
 */
export function throughputSeries(tasks: readonly (readonly Sample[])[], from: number, to: number, points = 60): ThroughputPoint[] {
  if (!(to > from) || tasks.every((s) => s.length === 0)) return [];
  const step = (to - from) / points;
  const total = (t: number) => tasks.reduce((n, s) => n + bytesAt(s, t), 0);
  const series: ThroughputPoint[] = [];
  let previous = total(from);
  for (let i = 1; i <= points; i++) {
    const t = from + i * step;
    const now = total(t);
    series.push({ t: Math.round(t), bytesPerSecond: Math.max(0, ((now - previous) * 1000) / step) });
    previous = now;
  }
  return series;
}

/**
 * Appends a sample, keeping at most `max`: past it every other old sample goes, so a long
 * run keeps its whole shape at a coarser grain. The first and the newest always stay.
 */
export function addSample(samples: Sample[], sample: Sample, max = 240): Sample[] {
  const next = [...samples, sample];
  if (next.length <= max) return next;
  return next.filter((_, i) => i % 2 === 0 || i === next.length - 1);
}
