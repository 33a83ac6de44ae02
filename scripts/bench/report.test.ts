import { describe, expect, it } from 'vitest';
import { emptyFigures, formatBenchLine, targetRows, type Figures } from './report.js';

const figures: Figures = {
  ours: { full_s: 10, incr_s: 0.5, restore_s: 4, size_mb: 1500.04 },
  restic: { full_s: 40, incr_s: 20, restore_s: 30, size_mb: 1600 },
  borg: { full_s: 50, incr_s: 25, restore_s: 10, size_mb: 1700.25 },
  peak_rss_mb: 200.4,
};

describe('formatBenchLine', () => {
  it('prints the fields in exactly the issue’s order', () => {
    expect(formatBenchLine(figures)).toBe(
      'BENCH full_s=10.00 incr_s=0.50 restore_s=4.00 size_mb=1500.0 restic_full_s=40.00 restic_incr_s=20.00 restic_restore_s=30.00 ' +
        'restic_size_mb=1600.0 borg_full_s=50.00 borg_incr_s=25.00 borg_restore_s=10.00 borg_size_mb=1700.3 peak_rss_mb=200',
    );
  });

  it('prints na for a tool that is missing', () => {
    const line = formatBenchLine({ ...figures, borg: emptyFigures() });
    expect(line).toContain('borg_full_s=na borg_incr_s=na borg_restore_s=na borg_size_mb=na peak_rss_mb=200');
    const names = line
      .split(' ')
      .slice(1)
      .map((f) => f.split('=')[0]);
    expect(names).toEqual([
      'full_s',
      'incr_s',
      'restore_s',
      'size_mb',
      'restic_full_s',
      'restic_incr_s',
      'restic_restore_s',
      'restic_size_mb',
      'borg_full_s',
      'borg_incr_s',
      'borg_restore_s',
      'borg_size_mb',
      'peak_rss_mb',
    ]);
  });
});

describe('targetRows', () => {
  const table: [string, Figures, string[]][] = [
    // full 10/40 = 0.25 ≤ 0.3; incr 0.5/20 = 0.025 ≤ 0.05; restore 4/10 = 0.4 ≤ 0.5; size 1500/1600 ≤ 1; rss 200 ≤ 256
    ['all met', figures, ['PASS', 'PASS', 'PASS', 'PASS', 'PASS']],
    ['all missed', { ...figures, ours: { full_s: 20, incr_s: 2, restore_s: 6, size_mb: 1700 }, peak_rss_mb: 300 }, ['MISS', 'MISS', 'MISS', 'MISS', 'MISS']],
    ['no restic, no borg', { ...figures, restic: emptyFigures(), borg: emptyFigures() }, ['n/a', 'n/a', 'n/a', 'n/a', 'PASS']],
  ];
  it.each(table)('%s', (_name, f, verdicts) => {
    expect(targetRows(f).map((r) => r.verdict)).toEqual(verdicts);
  });
});
