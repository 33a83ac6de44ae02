import { z } from 'zod';

/**
 * Every BullMQ job of Strongbox: its queue, its payload schema, attempts, backoff and
 * timeout, in one place that the producer and the consumer share (house style 5). The
 * consumer re-parses each payload; one that does not parse fails without retrying.
 */

const uuid = z.uuid();

export const CONTROLLER_QUEUE = 'controller';
/** Each mover has its own queue, so the controller decides where a task runs. */
export const moverQueue = (moverId: string) => `mover-${moverId}`;

export const catalog = {
  /** Run a backup job: expand it into tasks and drive them to the end. */
  'job.run': {
    queue: CONTROLLER_QUEUE,
    payload: z
      .object({
        jobId: uuid,
        trigger: z.enum(['schedule', 'user', 'api', 'chain', 'retry', 'quick']),
        triggeredBy: z.string().min(1).max(200),
        /** Only these VMs (retry of failed VMs, Quick backup); all of the job's when absent. */
        onlyVmIds: z.array(uuid).min(1).optional(),
        retryOfSessionId: uuid.optional(),
      })
      .strict(),
    attempts: 1,
    timeoutMs: 24 * 60 * 60 * 1000,
  },
  /**
   * Back up one VM on the mover whose queue it is in: its disk tasks, in one checkpoint
   * and one restore point (a VM's disks share the point-in-time view).
   */
  'task.run': {
    queue: 'mover',
    payload: z.object({ sessionId: uuid, vmId: uuid, taskIds: z.array(uuid).min(1), attempt: z.number().int().min(1) }).strict(),
    attempts: 1,
    timeoutMs: 24 * 60 * 60 * 1000,
  },
  /** Re-read a hypervisor connection's hosts and VMs. */
  'inventory.rescan': {
    queue: CONTROLLER_QUEUE,
    payload: z.object({ connectionId: uuid }).strict(),
    attempts: 3,
    backoffMs: 30_000,
    timeoutMs: 10 * 60 * 1000,
  },
  /** Retention, garbage collection or a health check (verify) of one repository. */
  'repository.maintain': {
    queue: CONTROLLER_QUEUE,
    payload: z.object({ repositoryId: uuid, kind: z.enum(['retention', 'gc', 'verify']) }).strict(),
    attempts: 2,
    backoffMs: 60_000,
    timeoutMs: 12 * 60 * 60 * 1000,
  },
  /** Email the result of a finished session to its recipients. */
  'session.notify': {
    queue: CONTROLLER_QUEUE,
    payload: z.object({ sessionId: uuid }).strict(),
    attempts: 5,
    backoffMs: 60_000,
    timeoutMs: 2 * 60 * 1000,
  },
} as const satisfies Record<string, { queue: string; payload: z.ZodType; attempts: number; backoffMs?: number; timeoutMs: number }>;

export type JobName = keyof typeof catalog;
export type Payload<N extends JobName> = z.infer<(typeof catalog)[N]['payload']>;
