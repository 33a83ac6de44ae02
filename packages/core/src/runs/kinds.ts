import { z } from 'zod';

/**
 * The kinds of session. A backup runs one unit per VM (its disks are the unit's tasks); a
 * maintenance session runs one unit, the operation itself, on a mover that sees the
 * repository; a restore runs one unit (`restore`), one task per disk it writes, on a mover
 * near its target; a mount (guest files opened for browsing) has no units: it lives on one
 * mover from its start until it ends, and closes with it. Copies join this list as they are built.
 */
export const SESSION_KINDS = ['backup', 'maintenance', 'restore', 'mount'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

export const MAINTENANCE_OPERATIONS = ['retention', 'gc', 'verify', 'index'] as const;
export const maintenanceOperationSchema = z.enum(MAINTENANCE_OPERATIONS);
export type MaintenanceOperation = z.infer<typeof maintenanceOperationSchema>;

/** The session's name in lists and email, as the operator knows each operation. */
export const MAINTENANCE_NAMES: Record<MaintenanceOperation, string> = {
  retention: 'Retention',
  gc: 'Space reclamation',
  verify: 'Health check',
  index: 'Guest file indexing',
};

/**
 * What a run's parts are grouped by for placement and results: the VM for a backup (its
 * disks share one checkpoint and one restore point, so they go to one mover together),
 * the operation for maintenance.
 */
export type UnitKey = string;
