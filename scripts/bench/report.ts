/**
 * The bench's figures: the comparison table with its targets, and the last line, whose
 * field order is a contract (a CI job parses it).
 */

export type ToolFigures = { full_s: number | null; incr_s: number | null; restore_s: number | null; size_mb: number | null };
/** Strongbox's restores through NBD and its instant recovery (recovery.ts); restic and borg have none. */
export type RecoveryFigures = {
  restore_qcow2_s: number | null;
  restore_full_nbd_s: number | null;
  rollback_s: number | null;
  rollback_blocks: number | null;
  instant_s: number | null;
  instant_4x_s: number | null;
};
export type Figures = { ours: ToolFigures; restic: ToolFigures; borg: ToolFigures; peak_rss_mb: number | null; recovery: RecoveryFigures };

export const emptyFigures = (): ToolFigures => ({ full_s: null, incr_s: null, restore_s: null, size_mb: null });
export const emptyRecovery = (): RecoveryFigures => ({
  restore_qcow2_s: null,
  restore_full_nbd_s: null,
  rollback_s: null,
  rollback_blocks: null,
  instant_s: null,
  instant_4x_s: null,
});

const FIELDS: [name: string, get: (f: Figures) => number | null, decimals: number][] = [
  ['full_s', (f) => f.ours.full_s, 2],
  ['incr_s', (f) => f.ours.incr_s, 2],
  ['restore_s', (f) => f.ours.restore_s, 2],
  ['size_mb', (f) => f.ours.size_mb, 1],
  ['restic_full_s', (f) => f.restic.full_s, 2],
  ['restic_incr_s', (f) => f.restic.incr_s, 2],
  ['restic_restore_s', (f) => f.restic.restore_s, 2],
  ['restic_size_mb', (f) => f.restic.size_mb, 1],
  ['borg_full_s', (f) => f.borg.full_s, 2],
  ['borg_incr_s', (f) => f.borg.incr_s, 2],
  ['borg_restore_s', (f) => f.borg.restore_s, 2],
  ['borg_size_mb', (f) => f.borg.size_mb, 1],
  ['peak_rss_mb', (f) => f.peak_rss_mb, 0],
  // Added after the first thirteen, so that a parser of the older line reads it unchanged.
  ['restore_qcow2_s', (f) => f.recovery.restore_qcow2_s, 2],
  ['restore_full_nbd_s', (f) => f.recovery.restore_full_nbd_s, 2],
  ['rollback_s', (f) => f.recovery.rollback_s, 2],
  ['rollback_blocks', (f) => f.recovery.rollback_blocks, 0],
  ['instant_s', (f) => f.recovery.instant_s, 2],
  ['instant_4x_s', (f) => f.recovery.instant_4x_s, 2],
];

/** `BENCH full_s=… … peak_rss_mb=…`; a figure that could not be measured is `na`. */
export function formatBenchLine(figures: Figures): string {
  return `BENCH ${FIELDS.map(([name, get, decimals]) => `${name}=${fmt(get(figures), decimals)}`).join(' ')}`;
}

function fmt(value: number | null, decimals: number): string {
  return value === null || !Number.isFinite(value) ? 'na' : value.toFixed(decimals);
}

type Target = {
  what: string;
  ours: (f: Figures) => number | null;
  other: (f: Figures) => number | null;
  against: string;
  max: number;
  unit: 'ratio' | 'MiB' | 's';
};

/** The issue's targets: ratios to restic, borg or another of our figures, and absolute ceilings (memory, instant recovery). */
export const TARGETS: Target[] = [
  { what: 'full backup time', ours: (f) => f.ours.full_s, other: (f) => f.restic.full_s, against: 'restic', max: 0.3, unit: 'ratio' },
  { what: 'incremental time', ours: (f) => f.ours.incr_s, other: (f) => f.restic.incr_s, against: 'restic', max: 0.05, unit: 'ratio' },
  { what: 'restore time', ours: (f) => f.ours.restore_s, other: (f) => f.borg.restore_s, against: 'borg', max: 0.5, unit: 'ratio' },
  { what: 'repository size', ours: (f) => f.ours.size_mb, other: (f) => f.restic.size_mb, against: 'restic', max: 1, unit: 'ratio' },
  { what: 'peak RSS', ours: (f) => f.peak_rss_mb, other: () => null, against: '', max: 256, unit: 'MiB' },
  {
    what: 'restore to new qcow2',
    ours: (f) => f.recovery.restore_qcow2_s,
    other: (f) => f.ours.restore_s,
    against: 'raw-file restore',
    max: 1.1,
    unit: 'ratio',
  },
  {
    what: 'quick rollback',
    ours: (f) => f.recovery.rollback_s,
    other: (f) => f.recovery.restore_full_nbd_s,
    against: 'full NBD restore',
    max: 0.25,
    unit: 'ratio',
  },
  { what: 'instant recovery', ours: (f) => f.recovery.instant_s, other: () => null, against: '', max: 10, unit: 's' },
  { what: 'instant recovery, 4× disk', ours: (f) => f.recovery.instant_4x_s, other: () => null, against: '', max: 10, unit: 's' },
];

export type Verdict = 'PASS' | 'MISS' | 'n/a';

/** One row per target; a target whose figures are missing is `n/a`, never a failure. */
export function targetRows(figures: Figures): { what: string; ours: string; other: string; value: string; target: string; verdict: Verdict }[] {
  return TARGETS.map((t) => {
    const ours = t.ours(figures);
    if (t.unit !== 'ratio') {
      const verdict: Verdict = ours === null ? 'n/a' : ours <= t.max ? 'PASS' : 'MISS';
      const decimals = t.unit === 'MiB' ? 0 : 2;
      return {
        what: t.what,
        ours: fmt(ours, decimals),
        other: '',
        value: ours === null ? 'na' : `${fmt(ours, decimals)} ${t.unit}`,
        target: `≤ ${t.max} ${t.unit}`,
        verdict,
      };
    }
    const other = t.other(figures);
    const ratio = ours !== null && other !== null && other > 0 ? ours / other : null;
    const verdict: Verdict = ratio === null ? 'n/a' : ratio <= t.max ? 'PASS' : 'MISS';
    return {
      what: t.what,
      ours: fmt(ours, 2),
      other: `${t.against} ${fmt(other, 2)}`,
      value: ratio === null ? 'na' : `${ratio.toFixed(3)}×`,
      target: `≤ ${t.max}× ${t.against}`,
      verdict,
    };
  });
}

export function formatTargets(figures: Figures): string {
  const rows = targetRows(figures);
  const header = { what: 'target', ours: 'ours', other: 'other', value: 'ratio', target: 'wanted', verdict: 'result' };
  const cols = ['what', 'ours', 'other', 'value', 'target', 'verdict'] as const;
  const widths = cols.map((c) => Math.max(...[header, ...rows].map((r) => r[c].length)));
  const line = (r: Record<(typeof cols)[number], string>) =>
    cols
      .map((c, i) => r[c].padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Seconds, MiB/s (none for a phase whose time is not a throughput: `bytes` null) and a label, as each phase prints when it ends. */
export function phaseLine(tool: string, phase: string, seconds: number, bytes: number | null, extra = ''): string {
  const rate = bytes === null ? '' : seconds > 0 ? `${(bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s` : '∞ MiB/s';
  return `${tool.padEnd(6)} ${phase.padEnd(13)} ${seconds.toFixed(2).padStart(8)} s  ${rate.padStart(10)}${extra ? `  ${extra}` : ''}`;
}
