import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CodedError } from '@strongbox/core';
import { catalog, envelope, QueueError, type Catalog, type CatalogEntry, type JobName, type Payload, type PayloadInput } from './catalog.js';

function jobOptions(spec: CatalogEntry) {
  return {
    attempts: spec.attempts,
    ...(spec.backoffMs !== undefined ? { backoff: { type: 'exponential' as const, delay: spec.backoffMs } } : {}),
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

/** A message as the outbox keeps it: already an envelope, with its queue and job id. */
export type QueuedMessage = { queue: string; name: string; data: unknown; jobId: string };

/** Producer side: validated, versioned payloads into the right queue, with the catalog's options. */
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

  /** `queueName` only for mover jobs, whose queue (the mover's own) the caller chooses. */
  async add<N extends JobName>(name: N, payload: PayloadInput<N>, options: { queueName?: string; jobId?: string } = {}): Promise<Job> {
    const spec: CatalogEntry = catalog[name];
    if (spec.queue === 'mover' && !options.queueName) throw new QueueError('QUEUE_NO_QUEUE', `${name} needs the mover queue to go to`);
    return this.send({ queue: options.queueName ?? spec.queue, name, data: envelope(name, payload), jobId: options.jobId ?? '' });
  }

  /** An envelope made earlier (the outbox's); the job id makes a second send of it a no-op. */
  send(message: QueuedMessage): Promise<Job> {
    const spec: CatalogEntry | undefined = (catalog as Catalog)[message.name];
    if (!spec) throw new QueueError('QUEUE_PAYLOAD_INVALID', `no job named ${message.name} in the catalog`);
    return this.queue(message.queue).add(message.name, message.data, { ...jobOptions(spec), ...(message.jobId ? { jobId: message.jobId } : {}) });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

/** What a handler gets besides its payload: the job, and a signal that aborts at the catalog's timeout or at shutdown. */
export type HandlerContext = { job: Job; signal: AbortSignal };
export type Handlers = { [N in JobName]?: (payload: Payload<N>, ctx: HandlerContext) => Promise<unknown> };

/** How long a message of a newer version waits before a consumer looks at it again. */
export const NEWER_VERSION_DELAY_MS = 30_000;

export class JobTimeoutError extends CodedError<'QUEUE_JOB_TIMEOUT'> {}

/** A payload of an older version, lifted to the current one; null when it is newer than this build. */
export function upgradePayload(spec: CatalogEntry, data: unknown): Record<string, unknown> | null {
  const raw = (typeof data === 'object' && data !== null ? { ...data } : {}) as Record<string, unknown>;
  let v = typeof raw.v === 'number' ? raw.v : 1;
  delete raw.v;
  if (v > spec.version) return null;
  let payload = raw;
  for (; v < spec.version; v++) {
    const up = spec.upgrades?.[v];
    if (!up) throw new UnrecoverableError(`no upgrade from version ${v} of this job's payload`);
    payload = up(payload);
  }
  return payload;
}

/**
 * Consumer side: one BullMQ worker for a queue, dispatching by job name. Every payload is
 * lifted to the current version and parsed again; a malformed one or an unknown name
 * fails at once, without retries; one from a newer producer is put back for later. A
 * handler that outlives its `timeoutMs` sees its signal abort and its job fails with
 * `QUEUE_JOB_TIMEOUT`, whether or not it has stopped yet.
 */
export function consume(
  connection: Redis,
  prefix: string,
  queueName: string,
  handlers: Handlers,
  options: { concurrency?: number; shutdown?: AbortSignal; catalog?: Catalog; onNewerVersion?: (job: Job) => void } = {},
): Worker {
  const entries: Catalog = options.catalog ?? catalog;
  return new Worker(
    queueName,
    async (job, token) => {
      const spec = entries[job.name];
      const handler = (handlers as Record<string, ((payload: unknown, ctx: HandlerContext) => Promise<unknown>) | undefined>)[job.name];
      if (!spec || !handler) throw new UnrecoverableError(`no handler for job "${job.name}" on queue ${queueName}`);
      const lifted = upgradePayload(spec, job.data);
      if (lifted === null) {
        // A newer Strongbox sent it: leave it to a worker that knows its version.
        options.onNewerVersion?.(job);
        await job.moveToDelayed(Date.now() + NEWER_VERSION_DELAY_MS, token);
        throw new DelayedError();
      }
      const parsed = spec.payload.safeParse(lifted);
      if (!parsed.success) throw new UnrecoverableError(`payload of ${job.name} is invalid: ${parsed.error.message}`);
      const timeout = new AbortController();
      const signal = options.shutdown ? AbortSignal.any([timeout.signal, options.shutdown]) : timeout.signal;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new JobTimeoutError(
            'QUEUE_JOB_TIMEOUT',
            `${job.name} ran past its ${spec.timeoutMs < 10_000 ? `${spec.timeoutMs} ms` : `${Math.round(spec.timeoutMs / 1000)} s`} limit`,
          );
          timeout.abort(error);
          reject(new UnrecoverableError(error.message));
        }, spec.timeoutMs);
      });
      try {
        return await Promise.race([handler(parsed.data, { job, signal }), expired]);
      } finally {
        clearTimeout(timer);
      }
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
