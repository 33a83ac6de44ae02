import { describe, expect, it } from 'vitest';
import { addSample, throughputSeries, type Sample } from './throughput.js';

const MiB = 1024 * 1024;

describe('throughputSeries', () => {
  it('is the rate of one steady task', () => {
    const task: Sample[] = [
      [0, 0],
      [10_000, 100 * MiB],
    ];
    const series = throughputSeries([task], 0, 10_000, 10);
    expect(series).toHaveLength(10);
    for (const p of series) expect(p.bytesPerSecond).toBeCloseTo(10 * MiB);
    expect(series.at(-1)!.t).toBe(10_000);
  });

  it('adds tasks that run at the same time, and is zero where none runs', () => {
    const a: Sample[] = [
      [0, 0],
      [4_000, 40 * MiB],
    ];
    const b: Sample[] = [
      [2_000, 0],
      [4_000, 20 * MiB],
    ];
    const series = throughputSeries([a, b], 0, 8_000, 4);
    expect(series.map((p) => Math.round(p.bytesPerSecond / MiB))).toEqual([10, 20, 0, 0]);
  });

  it('is empty without samples or without time', () => {
    expect(throughputSeries([[]], 0, 1000)).toEqual([]);
    expect(throughputSeries([[[0, 5]]], 1000, 1000)).toEqual([]);
  });

  it('never goes negative when a retried task starts again from zero', () => {
    const first: Sample[] = [
      [0, 0],
      [1_000, 10 * MiB],
    ];
    const series = throughputSeries([first, []], 0, 2_000, 2);
    expect(series.every((p) => p.bytesPerSecond >= 0)).toBe(true);
  });
});

describe('addSample', () => {
  it('keeps every sample up to the bound, then thins the old ones, keeping first and newest', () => {
    let s: Sample[] = [];
    for (let i = 0; i < 10; i++) s = addSample(s, [i, i], 10);
    expect(s).toHaveLength(10);
    s = addSample(s, [10, 10], 10);
    expect(s.length).toBeLessThanOrEqual(10);
    expect(s[0]).toEqual([0, 0]);
    expect(s.at(-1)).toEqual([10, 10]);
    for (let i = 11; i < 1000; i++) s = addSample(s, [i, i], 10);
    expect(s.length).toBeLessThanOrEqual(10);
    expect(s[0]).toEqual([0, 0]);
    expect(s.at(-1)).toEqual([999, 999]);
  });
});
