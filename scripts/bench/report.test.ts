import { describe, expect, it } from 'vitest';
import { emptyFigures, emptyRecovery, formatBenchLine, formatTargets, targetRows, type Figures } from './report.js';

const figures: Figures = {
  ours: { full_s: 10, incr_s: 0.5, restore_s: 4, size_mb: 1500.04 },
  restic: { full_s: 40, incr_s: 20, restore_s: 30, size_mb: 1600 },
  borg: { full_s: 50, incr_s: 25, restore_s: 10, size_mb: 1700.25 },
  peak_rss_mb: 200.4,
  recovery: { restore_qcow2_s: 4.2, restore_full_nbd_s: 4.1, rollback_s: 0.8, rollback_blocks: 97, instant_s: 7.456, instant_4x_s: 7.9 },
};

describe('formatBenchLine', () => {
  it('prints the fields in exactly the issue’s order', () => {
    expect(formatBenchLine(figures)).toBe(
      'BENCH full_s=10.00 incr_s=0.50 restore_s=4.00 size_mb=1500.0 restic_full_s=40.00 restic_incr_s=20.00 restic_restore_s=30.00 ' +
        'restic_size_mb=1600.0 borg_full_s=50.00 borg_incr_s=25.00 borg_restore_s=10.00 borg_size_mb=1700.3 peak_rss_mb=200 ' +
        'restore_qcow2_s=4.20 restore_full_nbd_s=4.10 rollback_s=0.80 rollback_blocks=97 instant_s=7.46 instant_4x_s=7.90',
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
      'restore_qcow2_s',
      'restore_full_nbd_s',
      'rollback_s',
      'rollback_blocks',
      'instant_s',
      'instant_4x_s',
    ]);
  });

  it('prints na for the recovery figures when the lab is unavailable', () => {
    expect(formatBenchLine({ ...figures, recovery: emptyRecovery() })).toMatch(
      / peak_rss_mb=200 restore_qcow2_s=na restore_full_nbd_s=na rollback_s=na rollback_blocks=na instant_s=na instant_4x_s=na$/,
    );
  });
});

describe('targetRows', () => {
  const table: [string, Figures, string[]][] = [
    // full 10/40 = 0.25 ≤ 0.3; incr 0.5/20 = 0.025 ≤ 0.05; restore 4/10 = 0.4 ≤ 0.5; size 1500/1600 ≤ 1; rss 200 ≤ 256;
    // qcow2 4.2/4 = 1.05 ≤ 1.1; rollback 0.8/4.1 = 0.195 ≤ 0.25; instant 7.456 and 7.9 ≤ 10 s
    ['all met', figures, ['PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS']],
    [
      'all missed',
      {
        ...figures,
        ours: { full_s: 20, incr_s: 2, restore_s: 6, size_mb: 1700 },
        peak_rss_mb: 300,
        // qcow2 6.7/6 = 1.117 > 1.1; rollback 1.1/4.1 = 0.268 > 0.25
        recovery: { restore_qcow2_s: 6.7, restore_full_nbd_s: 4.1, rollback_s: 1.1, rollback_blocks: 97, instant_s: 10.01, instant_4x_s: 12 },
      },
      ['MISS', 'MISS', 'MISS', 'MISS', 'MISS', 'MISS', 'MISS', 'MISS', 'MISS'],
    ],
    ['no restic, no borg', { ...figures, restic: emptyFigures(), borg: emptyFigures() }, ['n/a', 'n/a', 'n/a', 'n/a', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS']],
    // A wrong file restore has no time: the qcow2 ratio has nothing to compare with.
    [
      'no lab, wrong file restore',
      { ...figures, ours: { ...figures.ours, restore_s: null }, recovery: emptyRecovery() },
      ['PASS', 'PASS', 'n/a', 'PASS', 'PASS', 'n/a', 'n/a', 'n/a', 'n/a'],
    ],
  ];
  it.each(table)('%s', (_name, f, verdicts) => {
    expect(targetRows(f).map((r) => r.verdict)).toEqual(verdicts);
  });
});

describe('formatTargets', () => {
  it('shows the ratios to our own figures and the absolute ceilings in seconds', () => {
    const table = formatTargets(figures).split('\n');
    expect(table.find((l) => l.startsWith('restore to new qcow2'))).toMatch(/4\.20 +raw-file restore 4\.00 +1\.050× +≤ 1\.1× raw-file restore +PASS$/);
    expect(table.find((l) => l.startsWith('quick rollback'))).toMatch(/0\.80 +full NBD restore 4\.10 +0\.195× +≤ 0\.25× full NBD restore +PASS$/);
    expect(table.find((l) => l.startsWith('instant recovery '))).toMatch(/7\.46 +7\.46 s +≤ 10 s +PASS$/);
    expect(
      formatTargets({ ...figures, recovery: emptyRecovery() })
        .split('\n')
        .find((l) => l.startsWith('instant recovery, 4×')),
    ).toMatch(/na +na +≤ 10 s +n\/a$/);
  });
});
