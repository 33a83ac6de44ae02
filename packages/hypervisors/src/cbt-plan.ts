/**
 * Deciding whether a VM's changed-block tracking can be trusted: a pure function over
 * what libvirt and the images say, so every drift case is table-tested.
 */
import type { SessionLogEntry } from './types.js';

export const CHECKPOINT_PREFIX = 'strongbox-';

export type CheckpointFacts = {
  name: string;
  /** Disks the checkpoint has a bitmap for, with what we recorded about them then. */
  disks: Record<string, { bitmap: string; sizeBytes?: number; path?: string }>;
  vmUuid?: string;
};

export type BitmapFacts = {
  name: string;
  /** Still recording writes (enabled / 'auto'); a disabled bitmap misses changes. */
  recording: boolean;
  /** Flagged in-use or inconsistent: QEMU did not close it cleanly, so it may miss writes. */
  inconsistent: boolean;
};

export type DiskFacts = { target: string; path: string; format: string; sizeBytes: number; bitmaps: BitmapFacts[] | null };

export type CbtFacts = {
  vmUuid: string;
  since: string | null;
  /**
   * An active full: every disk is read whole even when `since` can be trusted, and that
   * checkpoint stays until the new point is committed (a full killed half-way must not
   * leave the chain without it).
   */
  readWhole?: boolean;
  /** Our checkpoints (name starts with `strongbox-`) as libvirt knows them. */
  checkpoints: CheckpointFacts[];
  disks: DiskFacts[];
};

export type Repair =
  { kind: 'delete-checkpoint'; name: string; metadataOnly: boolean } | { kind: 'remove-bitmap'; target: string; path: string; bitmap: string };

export type CbtPlan = {
  /** The checkpoint to read changes from, or null for a full read of every disk. */
  base: string | null;
  /** Checkpoints the new one replaces: deleted only once the new point is committed. */
  supersedes: string[];
  /** Per disk: read the changes, or the whole disk (no CBT on that disk). */
  diskModes: Record<string, 'changed' | 'allocated'>;
  /** Disks that can carry a bitmap in the new checkpoint. */
  checkpointDisks: string[];
  repairs: Repair[];
  log: SessionLogEntry[];
};

const canTrack = (d: DiskFacts) => d.format === 'qcow2';

export function planCbt(facts: CbtFacts): CbtPlan {
  const log: SessionLogEntry[] = [];
  const repairs: Repair[] = [];
  const warn = (code: string, message: string) => log.push({ level: 'warning', code, message });
  const byName = new Map(facts.checkpoints.map((c) => [c.name, c]));

  for (const d of facts.disks.filter((d) => !canTrack(d))) {
    warn('CBT_UNSUPPORTED_FORMAT', `disk ${d.target} is ${d.format}, which has no persistent bitmaps: it is read whole every time`);
  }

  // Why the base cannot be trusted, if it cannot.
  let broken: string | null = null;
  const base = facts.since ? byName.get(facts.since) : undefined;
  if (!facts.since) broken = null;
  else if (!base) broken = `checkpoint ${facts.since} is missing from libvirt`;
  else if (base.vmUuid && base.vmUuid !== facts.vmUuid) broken = `the VM's identity changed since ${facts.since} (restored or redefined elsewhere)`;
  else {
    for (const d of facts.disks.filter(canTrack)) {
      const recorded = base.disks[d.target];
      const bitmap = d.bitmaps?.find((b) => b.name === recorded?.bitmap);
      if (!recorded) broken = `disk ${d.target} was added after ${facts.since}`;
      else if (recorded.sizeBytes !== undefined && recorded.sizeBytes !== d.sizeBytes) {
        broken = `disk ${d.target} was resized from ${recorded.sizeBytes} to ${d.sizeBytes} bytes since ${facts.since}`;
      } else if (recorded.path !== undefined && recorded.path !== d.path) broken = `disk ${d.target} was replaced (${recorded.path} → ${d.path})`;
      else if (d.bitmaps === null) broken = `the bitmaps of disk ${d.target} cannot be listed`;
      else if (!bitmap) broken = `bitmap ${recorded.bitmap} is missing from disk ${d.target}`;
      else if (bitmap.inconsistent) broken = `bitmap ${bitmap.name} on disk ${d.target} is inconsistent (not saved cleanly)`;
      else if (!bitmap.recording) broken = `bitmap ${bitmap.name} on disk ${d.target} stopped recording, so it may miss writes`;
      if (broken) break;
    }
  }
  if (broken) warn('CBT_DRIFT', `changed-block tracking cannot be trusted: ${broken}; repairing and reading every disk whole`);
  const keep = facts.since && !broken ? facts.since : null;
  const readFrom = keep && !facts.readWhole ? keep : null;

  // Our checkpoints other than the base start over; so do bitmaps no checkpoint accounts for.
  for (const c of facts.checkpoints) {
    if (c.name === keep) continue;
    const bitmapsPresent = facts.disks.every((d) => {
      const want = c.disks[d.target]?.bitmap;
      return !want || !canTrack(d) || d.bitmaps?.some((b) => b.name === want);
    });
    repairs.push({ kind: 'delete-checkpoint', name: c.name, metadataOnly: !bitmapsPresent });
  }
  const fullyDeleted = new Set(repairs.flatMap((r) => (r.kind === 'delete-checkpoint' && !r.metadataOnly ? [r.name] : [])));
  for (const d of facts.disks.filter(canTrack)) {
    for (const b of d.bitmaps ?? []) {
      if (!b.name.startsWith(CHECKPOINT_PREFIX)) continue;
      const owner = byName.get(b.name);
      const ownsThis = owner?.disks[d.target]?.bitmap === b.name;
      if (ownsThis && (owner!.name === keep || fullyDeleted.has(owner!.name))) continue;
      repairs.push({ kind: 'remove-bitmap', target: d.target, path: d.path, bitmap: b.name });
      if (!ownsThis) warn('CBT_STALE_BITMAP', `disk ${d.target} carries bitmap ${b.name} that no checkpoint accounts for; removing it`);
    }
  }
  const stale = facts.checkpoints.filter((c) => c.name !== keep && c.name !== facts.since);
  if (stale.length > 0 && !broken) {
    log.push({ level: 'info', code: 'CBT_CLEANUP', message: `removing older Strongbox checkpoints: ${stale.map((c) => c.name).join(', ')}` });
  }
  if (!facts.since) log.push({ level: 'info', code: 'CBT_FULL', message: 'no previous checkpoint: every disk is read whole' });
  else if (keep && facts.readWhole) {
    log.push({
      level: 'info',
      code: 'CBT_ACTIVE_FULL',
      message: `active full: every disk is read whole; checkpoint ${keep} stays until this point is committed`,
    });
  }

  const diskModes: Record<string, 'changed' | 'allocated'> = {};
  for (const d of facts.disks) diskModes[d.target] = readFrom && canTrack(d) ? 'changed' : 'allocated';
  return { base: readFrom, supersedes: keep ? [keep] : [], diskModes, checkpointDisks: facts.disks.filter(canTrack).map((d) => d.target), repairs, log };
}
