/**
 * The resource scheduler's rule (ARCHITECTURE, flow step 3), pure: which waiting tasks may
 * start now, on which mover, given every mover's and repository's limit and what already
 * runs. A task that gets nothing waits for the next round.
 */

export type MoverSlotState = {
  id: string;
  hostName: string;
  site: string;
  online: boolean;
  enabled: boolean;
  maxConcurrentTasks: number;
  running: number;
};

export type RepositorySlotState = { id: string; maxConcurrentTasks: number; running: number };

export type WaitingTask = {
  id: string;
  sessionId: string;
  repositoryId: string;
  /** Host and site of the VM's hypervisor host, for "near the VM first". */
  vmHostName: string | null;
  vmSite: string | null;
  /** Movers this task must not use again (e.g. the one that died running it). */
  excludeMovers?: readonly string[];
};

export type ProcessingMode = 'parallel' | 'sequential';

export type Grant = { taskId: string; moverId: string; tier: 'host' | 'site' | 'any' };

export type GrantInput = {
  /** In the order they should start: oldest session first, then task order. */
  waiting: readonly WaitingTask[];
  movers: readonly MoverSlotState[];
  repositories: readonly RepositorySlotState[];
  mode: ProcessingMode;
  /** Sessions that already have a running task (sequential mode allows one each). */
  sessionsRunning: ReadonlySet<string>;
};

const TIERS = ['host', 'site', 'any'] as const;

function tierOf(mover: MoverSlotState, task: WaitingTask): (typeof TIERS)[number] {
  if (task.vmHostName !== null && mover.hostName === task.vmHostName) return 'host';
  if (task.vmSite !== null && mover.site === task.vmSite) return 'site';
  return 'any';
}

/** Same host as the VM, then same site, then any; within a tier the least busy, then by id. */
export function chooseMover(task: WaitingTask, movers: readonly MoverSlotState[]): Grant | null {
  let best: { mover: MoverSlotState; tier: number; load: number } | null = null;
  for (const mover of movers) {
    if (!mover.online || !mover.enabled || mover.running >= mover.maxConcurrentTasks) continue;
    if (task.excludeMovers?.includes(mover.id)) continue;
    const tier = TIERS.indexOf(tierOf(mover, task));
    const load = mover.running / mover.maxConcurrentTasks;
    if (!best || tier < best.tier || (tier === best.tier && (load < best.load || (load === best.load && mover.id < best.mover.id)))) {
      best = { mover, tier, load };
    }
  }
  return best ? { taskId: task.id, moverId: best.mover.id, tier: TIERS[best.tier]! } : null;
}

export function grantTasks(input: GrantInput): Grant[] {
  const movers = input.movers.map((m) => ({ ...m }));
  const repositories = new Map(input.repositories.map((r) => [r.id, { ...r }]));
  const busySessions = new Set(input.sessionsRunning);
  const grants: Grant[] = [];
  for (const task of input.waiting) {
    if (input.mode === 'sequential' && busySessions.has(task.sessionId)) continue;
    const repository = repositories.get(task.repositoryId);
    if (!repository || repository.running >= repository.maxConcurrentTasks) continue;
    const grant = chooseMover(task, movers);
    if (!grant) continue;
    grants.push(grant);
    repository.running++;
    movers.find((m) => m.id === grant.moverId)!.running++;
    busySessions.add(task.sessionId);
  }
  return grants;
}
