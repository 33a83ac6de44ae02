import { z } from 'zod';
import { IMAGE_FORMATS, RESTORE_KINDS, vmRestoreRequestSchema } from '@strongbox/core';
import { INSTANT_STATES, type CatalogVmKey } from '@strongbox/db';
import { pageQuery } from './schemas';

/** What the restore routes read and answer; the OpenAPI document is generated from the same schemas. */

export const restoreCatalogQuery = z.object({ q: z.string().max(100).default('') });

/** A VM of the catalog: by its inventory id while a row of it exists, else by the name its points recorded. */
export const catalogPointsQuery = z
  .object({ vmId: z.uuid().optional(), vmName: z.string().trim().min(1).max(200).optional() })
  .refine((q) => Boolean(q.vmId) !== Boolean(q.vmName), { message: 'give either vmId or vmName', path: ['vmId'] })
  .transform((q): CatalogVmKey => (q.vmId ? { vmId: q.vmId } : { vmName: q.vmName! }));

export const restoreListQuery = pageQuery;

export const instantListQuery = z.object({ all: z.enum(['0', '1', 'true', 'false']).optional() });

export const instantMigrateBody = z
  .object({
    pool: z.string().trim().min(1, 'choose a storage pool').max(200),
    format: z.enum(IMAGE_FORMATS).default('qcow2'),
  })
  .strict();

/** The restore request as the API takes it (`POST /restores`): core's schema, the same the run module checks (guest files go through their mount). */
export const restoreRequestBody = vmRestoreRequestSchema;

export const catalogVmDto = z.object({
  /** null: the VM's inventory row is gone; its points are found by `name`. */
  vmId: z.uuid().nullable(),
  name: z.string(),
  inInventory: z.boolean(),
  connection: z.object({ id: z.uuid(), name: z.string() }).nullable(),
  points: z.number().int(),
  newestAt: z.string(),
});
export type CatalogVmDto = z.infer<typeof catalogVmDto>;

export const catalogPointDto = z.object({
  id: z.uuid(),
  vmId: z.uuid().nullable(),
  vmName: z.string(),
  time: z.string(),
  kind: z.string(),
  /** Sum of the disks' sizes (what a restore writes at most). */
  sizeBytes: z.number(),
  /** What the point added to the repository (compressed, deduplicated). */
  storedBytes: z.number(),
  disks: z.array(z.object({ name: z.string(), sizeBytes: z.number(), storedBytes: z.number() })),
  repository: z.object({ id: z.uuid(), name: z.string() }),
  jobName: z.string().nullable(),
});
export type CatalogPointDto = z.infer<typeof catalogPointDto>;

export const storagePoolDto = z.object({
  name: z.string(),
  type: z.string(),
  path: z.string(),
  capacityBytes: z.number().nullable(),
  availableBytes: z.number().nullable(),
  active: z.boolean(),
  lastSeenAt: z.string(),
});
export type StoragePoolDto = z.infer<typeof storagePoolDto>;

export const instantRecoveryDto = z.object({
  id: z.uuid(),
  sessionId: z.uuid(),
  vmName: z.string(),
  connection: z.object({ id: z.uuid(), name: z.string() }).nullable(),
  pointId: z.uuid().nullable(),
  state: z.enum(INSTANT_STATES),
  error: z.string().nullable(),
  bytesServed: z.number(),
  overlayBytes: z.number(),
  disks: z.array(z.object({ name: z.string(), sizeBytes: z.number() })),
  startedAt: z.string(),
  runningAt: z.string().nullable(),
  endedAt: z.string().nullable(),
});
export type InstantRecoveryDto = z.infer<typeof instantRecoveryDto>;

/** What a restore session was asked, and what the server resolved it to (names, not its paths on movers). */
export const restoreRequestDto = z.object({
  kind: z.enum(RESTORE_KINDS),
  kindName: z.string(),
  request: z.record(z.string(), z.unknown()),
  point: z.object({ id: z.string(), time: z.string(), kind: z.string(), vmName: z.string(), vmId: z.string().nullable(), repositoryId: z.string() }),
  disks: z.array(z.object({ name: z.string(), sizeBytes: z.number() })),
  connectionId: z.string(),
  host: z.string().nullable(),
  pool: z.object({ name: z.string(), type: z.string(), path: z.string() }).nullable(),
  targetVm: z.object({ id: z.string(), name: z.string() }).nullable(),
  newVmName: z.string().nullable(),
  /** In one line: where the restore writes. */
  target: z.string(),
});
export type RestoreRequestDto = z.infer<typeof restoreRequestDto>;
