import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { catalog, type JobName, type Payload } from './catalog.js';

export class QueueError extends Error {
  readonly code = 'QUEUE_PAYLOAD_INVALID';
}

type Spec = (typeof catalog)[JobName];

function jobOptions(spec: Spec) {
  return {
    attempts: spec.attempts,
    ...('backoffMs' in spec ? { backoff: { type: 'exponential' as const, delay: spec.backoffMs } } : {}),
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

/** Producer side: validated payloads into the right queue, with the catalog's options. */
export class Queues {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  /** `queueName` only for per-mover jobs (`task.run`), whose queue the caller chooses. */
  async add<N extends JobName>(name: N, payload: Payload<N>, options: { queueName?: string; jobId?: string; delayMs?: number } = {}): Promise<Job> {
    const spec = catalog[name];
    const parsed = spec.payload.safeParse(payload);
    if (!parsed.success) throw new QueueError(`payload of ${name} is invalid: ${parsed.error.message}`);
    const queueName = options.queueName ?? spec.queue;
    if (spec.queue === 'mover' && !options.queueName) throw new QueueError(`${name} needs the mover queue to go to`);
    return this.queue(queueName).add(name, parsed.data, {
      ...jobOptions(spec),
      ...(options.jobId ? { jobId: options.jobId } : {}),
      ...(options.delayMs ? { delay: options.delayMs } : {}),
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

export type Handlers = { [N in JobName]?: (payload: Payload<N>, job: Job) => Promise<unknown> };

/**
 * Consumer side: one BullMQ worker for a queue, dispatching by job name. Every payload is
 * parsed again; a malformed one or an unknown name fails at once, without retries.
 */
export function consume(connection: Redis, prefix: string, queueName: string, handlers: Handlers, options: { concurrency?: number } = {}): Worker {
  return new Worker(
    queueName,
    async (job) => {
      const name = job.name as JobName;
      const spec = catalog[name];
      const handler = handlers[name] as ((payload: unknown, job: Job) => Promise<unknown>) | undefined;
      if (!spec || !handler) throw new UnrecoverableError(`no handler for job "${job.name}" on queue ${queueName}`);
      const parsed = spec.payload.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`payload of ${name} is invalid: ${parsed.error.message}`);
      return handler(parsed.data, job);
    },
    {
      connection,
      prefix,
      concurrency: options.concurrency ?? 1,
      // A job whose worker died is taken up again after its lock expires.
      lockDuration: 60_000,
    },
  );
}
