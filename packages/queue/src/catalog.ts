import { z } from 'zod';
import { CodedError, maintenanceOperationSchema, sessionIdSchema, vmIdSchema } from '@strongbox/core';

/**
 * Every BullMQ job of Strongbox: its queue, its payload schema and version, attempts,
 * backoff and timeout, in one place that the producer and the consumer share. The
 * consumer parses each payload again; one that does not parse fails without retrying.
 *
 * Runs themselves are not queue messages: a start is a `Session` row, made in one
 * transaction with its tasks, and the controller's round hands its units to movers.
 * What goes through queues is work for one process: a unit for a mover, a rescan, an
 * email. Each kind has a queue of its own, so that none waits behind another (a rescan
 * of a slow hypervisor never delays a notification; a mover's hours-long verify runs
 * beside its backups, not before them).
 *
 * Versions: a payload carries `v`, the version of its schema. A consumer older than the
 * message puts it back for a newer one (a rolling upgrade never fails a message); a
 * consumer newer than the message lifts it through `upgrades` first.
 */

/** Controller queues: one per kind of controller work. */
export const INVENTORY_QUEUE = 'inventory';
export const NOTIFY_QUEUE = 'notify';
/** Each mover has its own queue, so that the controller decides where a unit runs. */
export const moverQueue = (moverId: string) => `mover-${moverId}`;
export const MOVER_QUEUE = 'mover';

export type CatalogEntry = {
  queue: string;
  version: number;
  payload: z.ZodType;
  /** upgrades[n] lifts a payload of version n to n + 1. */
  upgrades?: Record<number, (old: Record<string, unknown>) => Record<string, unknown>>;
  attempts: number;
  backoffMs?: number;
  /** Enforced by the consumer: the handler's signal aborts, and the job fails, at this age. */
  timeoutMs: number;
};

export const catalog = {
  /** Back up one VM on the mover whose queue it is in: the unit's disks, one checkpoint, one restore point. */
  'vm.run': {
    queue: MOVER_QUEUE,
    version: 1,
    payload: z.object({ sessionId: sessionIdSchema, unit: vmIdSchema, attempt: z.number().int().min(1) }).strict(),
    attempts: 1,
    timeoutMs: 24 * 60 * 60 * 1000,
  },
  /** Retention, garbage collection or a health check of one repository, on a mover that sees its store. */
  'maintenance.run': {
    queue: MOVER_QUEUE,
    version: 1,
    payload: z.object({ sessionId: sessionIdSchema, unit: maintenanceOperationSchema, attempt: z.number().int().min(1) }).strict(),
    attempts: 1,
    timeoutMs: 12 * 60 * 60 * 1000,
  },
  /** A restore on the mover whose queue it is in: its disks written to the target the session's request names. */
  'restore.run': {
    queue: MOVER_QUEUE,
    version: 1,
    payload: z.object({ sessionId: sessionIdSchema, unit: z.literal('restore'), attempt: z.number().int().min(1) }).strict(),
    attempts: 1,
    timeoutMs: 24 * 60 * 60 * 1000,
  },
  /** Open a guest-file mount on the mover whose queue it is in: serve the point's disks and start its appliance. */
  'mount.open': {
    queue: MOVER_QUEUE,
    version: 1,
    payload: z.object({ mountId: z.uuid() }).strict(),
    attempts: 1,
    timeoutMs: 15 * 60 * 1000,
  },
  /** End a guest-file mount on the mover holding it (asked by its user). */
  'mount.close': {
    queue: MOVER_QUEUE,
    version: 1,
    payload: z.object({ mountId: z.uuid(), by: z.string() }).strict(),
    attempts: 1,
    timeoutMs: 5 * 60 * 1000,
  },
  /** An action on a running instant recovery, on the mover serving it: migrate its disks to a pool, or stop publishing. */
  'instant.action': {
    queue: MOVER_QUEUE,
    version: 1,
    payload: z
      .object({
        instantId: z.uuid(),
        action: z.enum(['migrate', 'stop']),
        pool: z.string().optional(),
        format: z.enum(['qcow2', 'raw']).optional(),
        by: z.string(),
      })
      .strict(),
    attempts: 1,
    timeoutMs: 24 * 60 * 60 * 1000,
  },
  /** Re-read a hypervisor connection's hosts and VMs. */
  'inventory.rescan': {
    queue: INVENTORY_QUEUE,
    version: 1,
    payload: z.object({ connectionId: z.uuid() }).strict(),
    attempts: 3,
    backoffMs: 30_000,
    timeoutMs: 10 * 60 * 1000,
  },
  /** Email the result of a finished session to its recipients. */
  'session.notify': {
    queue: NOTIFY_QUEUE,
    version: 1,
    payload: z.object({ sessionId: sessionIdSchema }).strict(),
    attempts: 5,
    backoffMs: 60_000,
    timeoutMs: 2 * 60 * 1000,
  },
} as const satisfies Record<string, CatalogEntry>;

export type Catalog = Record<string, CatalogEntry>;
export type JobName = keyof typeof catalog;
export type Payload<N extends JobName> = z.infer<(typeof catalog)[N]['payload']>;
export type PayloadInput<N extends JobName> = z.input<(typeof catalog)[N]['payload']>;

export class QueueError extends CodedError<'QUEUE_PAYLOAD_INVALID' | 'QUEUE_NO_QUEUE'> {}

/** What is put in a queue: the payload, checked against its schema, with its version. */
export function envelope<N extends JobName>(name: N, payload: PayloadInput<N>): Payload<N> & { v: number } {
  const spec: CatalogEntry = catalog[name];
  const parsed = spec.payload.safeParse(payload);
  if (!parsed.success) throw new QueueError('QUEUE_PAYLOAD_INVALID', `payload of ${name} is invalid: ${parsed.error.message}`);
  return { ...(parsed.data as Payload<N>), v: spec.version };
}
