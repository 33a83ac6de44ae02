import { randomBytes, randomUUID } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@strongbox/config';
import { consume, moverQueue, NOTIFY_QUEUE, QueueError, Queues, type Catalog, type Payload } from '../src/index.js';

const env = parseEnv(process.env);
const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
const prefix = `${env.STRONGBOX_REDIS_PREFIX}:q${randomBytes(3).toString('hex')}`;
const queues = new Queues(connection, prefix);
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await queues.close();
  await connection.quit();
});

async function eventsOf(name: string) {
  const events = new QueueEvents(name, { connection: connection.duplicate(), prefix });
  await events.waitUntilReady();
  closers.push(() => events.close());
  return events;
}

describe('the typed queue catalog', () => {
  it('carries a valid payload from producer to consumer, re-parsed, with its version', async () => {
    const seen: Payload<'session.notify'>[] = [];
    const worker = consume(connection, prefix, NOTIFY_QUEUE, {
      'session.notify': async (payload) => {
        seen.push(payload);
        return 'sent';
      },
    });
    closers.push(() => worker.close());
    const events = await eventsOf(NOTIFY_QUEUE);
    const sessionId = randomUUID();
    const job = await queues.add('session.notify', { sessionId });
    expect(job.data).toEqual({ sessionId, v: 1 });
    expect(await job.waitUntilFinished(events, 10_000)).toBe('sent');
    expect(seen).toEqual([{ sessionId }]);
  });

  it('refuses an invalid payload at the producer and writes nothing', async () => {
    const q = queues.queue(NOTIFY_QUEUE);
    const before = await q.count();
    await expect(queues.add('session.notify', { sessionId: 'not-a-uuid' })).rejects.toThrow(QueueError);
    await expect(queues.add('vm.run', { sessionId: randomUUID(), unit: randomUUID(), attempt: 1 })).rejects.toThrow('needs the mover queue');
    expect(await q.count()).toBe(before);
  });

  it('fails a malformed payload at the consumer without retrying it', async () => {
    const name = moverQueue(randomUUID());
    let calls = 0;
    const worker = consume(connection, prefix, name, {
      'vm.run': async () => {
        calls++;
      },
    });
    closers.push(() => worker.close());
    const events = await eventsOf(name);
    // Written behind the catalog's back, as a faulty producer might.
    const job = await queues.queue(name).add('vm.run', { taskId: 'x', v: 1 }, { attempts: 5 });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(/payload of vm.run is invalid/);
    expect((await queues.queue(name).getJob(job.id!))?.attemptsMade).toBe(1);
    expect(calls).toBe(0);
  });
});

describe('payload versions across a rolling upgrade', () => {
  // A job whose payload gained a field in version 2: `to` was a string, is now a list.
  const testCatalog: Catalog = {
    'test.greet': {
      queue: 'test',
      version: 2,
      payload: z.object({ to: z.array(z.string()) }).strict(),
      upgrades: { 1: (old) => ({ to: [old.to] }) },
      attempts: 1,
      timeoutMs: 60_000,
    },
  };

  it('lifts an older message to the current version; a newer one waits for a newer worker instead of failing', async () => {
    const name = `test-${randomBytes(3).toString('hex')}`;
    const seen: unknown[] = [];
    const newer: string[] = [];
    const worker = consume(
      connection,
      prefix,
      name,
      {
        ['test.greet' as never]: async (payload: unknown) => {
          seen.push(payload);
          return 'ok';
        },
      },
      { catalog: testCatalog, onNewerVersion: (job) => newer.push(job.id!) },
    );
    closers.push(() => worker.close());
    const events = await eventsOf(name);
    const old = await queues.queue(name).add('test.greet', { to: 'ann', v: 1 });
    expect(await old.waitUntilFinished(events, 10_000)).toBe('ok');
    expect(seen).toEqual([{ to: ['ann'] }]);

    const future = await queues.queue(name).add('test.greet', { to: ['bob'], cc: [], v: 3 });
    await expect.poll(() => newer.includes(future.id!), { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => (await queues.queue(name).getJob(future.id!))?.getState(), { timeout: 10_000 }).toBe('delayed');
    const again = await queues.queue(name).getJob(future.id!);
    expect(again?.failedReason ?? '').toBe('');
    expect(seen).toHaveLength(1);
  });
});

describe('job timeouts', () => {
  it('aborts the handler\u2019s signal and fails the job at the catalog\u2019s timeout', async () => {
    const name = `test-${randomBytes(3).toString('hex')}`;
    const testCatalog: Catalog = { 'test.slow': { queue: 'test', version: 1, payload: z.object({}).strict(), attempts: 3, timeoutMs: 300 } };
    let aborted: unknown = null;
    const worker = consume(
      connection,
      prefix,
      name,
      {
        ['test.slow' as never]: (_payload: unknown, { signal }: { signal: AbortSignal }) =>
          new Promise((resolve) => {
            signal.addEventListener('abort', () => {
              aborted = signal.reason;
              setTimeout(resolve, 50);
            });
          }),
      },
      { catalog: testCatalog },
    );
    closers.push(() => worker.close());
    const events = await eventsOf(name);
    const job = await queues.queue(name).add('test.slow', { v: 1 }, { attempts: 3 });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(/ran past its 300 ms limit/);
    expect((aborted as { code?: string } | null)?.code).toBe('QUEUE_JOB_TIMEOUT');
    // A timeout is not retried: the work would run as long again.
    expect((await queues.queue(name).getJob(job.id!))?.attemptsMade).toBe(1);
  });
});
