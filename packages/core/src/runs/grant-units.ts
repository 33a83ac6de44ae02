/**
 * The resource scheduler's rule, pure: which waiting units may start now, on which mover,
 * given every mover's and repository's limit and what already runs. A unit that gets
 * nothing waits for the next round; one that no mover could ever take is refused.
 *
 * Two kinds of unit:
 * - a VM of a backup takes a mover slot and a repository slot, on a mover near the VM
 *   (same host, then same site, then any);
 * - a restore takes a mover slot and a repository slot like a VM, on a mover near its
 *   target host (it reads the repository and writes to the host's pools);
 * - a maintenance operation (retention, GC, verify) needs a mover that sees the
 *   repository's store, one at a time per repository (retention must not delete points a
 *   verify is reading), and takes no slot: it never delays a backup. GC and verify are
 *   built to run beside writers, and verify's reading is bounded by the repository's
 *   read-rate limit instead.
 */

export type MoverSlotState = {
  id: string;
  hostName: string;
  site: string;
  online: boolean;
  enabled: boolean;
  maxConcurrentTasks: number;
  running: number;
  /** The repositories whose store this mover found at their path when it last looked. */
  repositoryIds: readonly string[];
};

export type RepositorySlotState = {
  id: string;
  maxConcurrentTasks: number;
  running: number;
  /** A maintenance operation runs on it now. */
  maintaining: boolean;
};

export type WaitingUnit = {
  id: string;
  sessionId: string;
  repositoryId: string;
  kind: 'vm' | 'maintenance' | 'restore';
  /**
   * The VM this unit reads from (a backup) or writes to (an in-place restore): a backup and
   * a restore of the same VM never run at once. Null for a restore as a new VM.
   */
  busyVmId?: string | null;
  /** Host and site of the VM's hypervisor host, for "near the VM first". */
  vmHostName: string | null;
  vmSite: string | null;
  /** Movers this unit must not use again (one died running it). */
  excludeMovers?: readonly string[];
};

export type ProcessingMode = 'parallel' | 'sequential';

export type Grant = { unitId: string; moverId: string; tier: 'host' | 'site' | 'any' };
export type Refusal = { unitId: string; reason: string };
/** A unit that could have a slot but waits for another run of its VM to end: the log says why. */
export type Wait = { unitId: string; reason: string };

export type GrantInput = {
  /** In the order they should start: oldest session first, then unit order. */
  waiting: readonly WaitingUnit[];
  movers: readonly MoverSlotState[];
  repositories: readonly RepositorySlotState[];
  mode: ProcessingMode;
  /** Sessions that already have a running unit (sequential mode allows one each). */
  sessionsRunning: ReadonlySet<string>;
  /** VMs a running backup or restore holds now, with what holds them ("a backup", "a restore"). */
  vmsBusy?: ReadonlyMap<string, string>;
};

const TIERS = ['host', 'site', 'any'] as const;

function tierOf(mover: MoverSlotState, unit: WaitingUnit): (typeof TIERS)[number] {
  if (unit.vmHostName !== null && mover.hostName === unit.vmHostName) return 'host';
  if (unit.vmSite !== null && mover.site === unit.vmSite) return 'site';
  return 'any';
}

/**
 * Same host as the VM, then same site, then any; within a tier the least busy, then by id.
 * A mover that died running the unit is not used for it again — unless no other enabled
 * mover exists at all, where waiting forever would help no one.
 */
export function chooseMover(unit: WaitingUnit, movers: readonly MoverSlotState[]): Grant | null {
  const others = movers.some((m) => m.enabled && !unit.excludeMovers?.includes(m.id));
  let best: { mover: MoverSlotState; tier: number; load: number } | null = null;
  for (const mover of movers) {
    if (!mover.online || !mover.enabled || mover.running >= mover.maxConcurrentTasks) continue;
    if (others && unit.excludeMovers?.includes(mover.id)) continue;
    const tier = TIERS.indexOf(tierOf(mover, unit));
    const load = mover.running / mover.maxConcurrentTasks;
    if (!best || tier < best.tier || (tier === best.tier && (load < best.load || (load === best.load && mover.id < best.mover.id)))) {
      best = { mover, tier, load };
    }
  }
  return best ? { unitId: unit.id, moverId: best.mover.id, tier: TIERS[best.tier]! } : null;
}

/** Among the enabled movers that see the store and are online, the first by id; none online: wait. */
function chooseMaintainer(unit: WaitingUnit, movers: readonly MoverSlotState[]): Grant | Refusal | null {
  const seeing = movers.filter((m) => m.enabled && m.repositoryIds.includes(unit.repositoryId) && !unit.excludeMovers?.includes(m.id));
  if (seeing.length === 0)
    return { unitId: unit.id, reason: 'no enabled mover sees this repository at its path: its store must be mounted on a mover to be maintained' };
  const online = seeing.filter((m) => m.online).sort((a, b) => (a.id < b.id ? -1 : 1));
  return online[0] ? { unitId: unit.id, moverId: online[0].id, tier: 'any' } : null;
}

const HOLDER: Record<WaitingUnit['kind'], string> = { vm: 'a backup', restore: 'a restore', maintenance: 'maintenance' };

export function grantUnits(input: GrantInput): { grants: Grant[]; refusals: Refusal[]; waits: Wait[] } {
  const movers = input.movers.map((m) => ({ ...m }));
  const repositories = new Map(input.repositories.map((r) => [r.id, { ...r }]));
  const busySessions = new Set(input.sessionsRunning);
  const busyVms = new Map(input.vmsBusy ?? []);
  const grants: Grant[] = [];
  const refusals: Refusal[] = [];
  const waits: Wait[] = [];
  for (const unit of input.waiting) {
    const repository = repositories.get(unit.repositoryId);
    if (!repository) continue;
    if (unit.kind === 'maintenance') {
      if (repository.maintaining) continue;
      const outcome = chooseMaintainer(unit, movers);
      if (outcome && 'reason' in outcome) refusals.push(outcome);
      else if (outcome) {
        grants.push(outcome);
        repository.maintaining = true;
      }
      continue;
    }
    if (input.mode === 'sequential' && unit.kind === 'vm' && busySessions.has(unit.sessionId)) continue;
    const holder = unit.busyVmId ? busyVms.get(unit.busyVmId) : undefined;
    if (holder) {
      waits.push({ unitId: unit.id, reason: `waits: ${holder} of this VM is running (one VM is backed up or restored by one run at a time)` });
      continue;
    }
    if (repository.running >= repository.maxConcurrentTasks) continue;
    const grant = chooseMover(unit, movers);
    if (!grant) continue;
    grants.push(grant);
    repository.running++;
    movers.find((m) => m.id === grant.moverId)!.running++;
    busySessions.add(unit.sessionId);
    if (unit.busyVmId) busyVms.set(unit.busyVmId, HOLDER[unit.kind]);
  }
  return { grants, refusals, waits };
}
