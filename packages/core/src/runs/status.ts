/**
 * The statuses of a run (a session) and of its tasks. A run lives in PostgreSQL as a
 * `Session` → `Task` tree, so that a controller or mover that restarts carries on from
 * the rows, not from memory.
 */
export const RUN_STATUSES = ['pending', 'running', 'success', 'warning', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Still to happen or happening: a session or task in these is "active". */
export const ACTIVE_STATUSES = ['pending', 'running'] as const satisfies readonly RunStatus[];
export const FINAL_STATUSES = ['success', 'warning', 'failed', 'cancelled', 'interrupted'] as const satisfies readonly RunStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

export const isFinal = (status: RunStatus): status is FinalStatus => (FINAL_STATUSES as readonly RunStatus[]).includes(status);
export const isActive = (status: RunStatus) => !isFinal(status);

/**
 * What the results of a run's parts say of the whole: still running while any part is not
 * final; else the worst of them — failed over interrupted over cancelled over warning over
 * success. A session with warnings of its own (an object that resolved to nothing) is at
 * best a warning; one with no part at all has failed (there was nothing to do).
 */
export function rollUp(parts: readonly RunStatus[], sessionWarnings = 0): RunStatus {
  if (parts.some((t) => !isFinal(t))) return parts.some((t) => t === 'running') ? 'running' : 'pending';
  if (parts.length === 0) return 'failed';
  for (const status of ['failed', 'interrupted', 'cancelled', 'warning'] as const) if (parts.includes(status)) return status;
  return sessionWarnings > 0 ? 'warning' : 'success';
}
