import { randomBytes, randomUUID } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@strongbox/config';
import { consume, moverQueue, QueueError, Queues, type Payload } from '../src/index.js';

const env = parseEnv(process.env);
const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
const prefix = `${env.STRONGBOX_REDIS_PREFIX}:q${randomBytes(3).toString('hex')}`;
const queues = new Queues(connection, prefix);
afterAll(async () => {
  await queues.close();
  await connection.quit();
});

describe('the typed queue catalog', () => {
  it('carries a valid payload from producer to consumer, re-parsed', async () => {
    const seen: Payload<'session.notify'>[] = [];
    const worker = consume(connection, prefix, 'controller', {
      'session.notify': async (payload) => {
        seen.push(payload);
        return 'sent';
      },
    });
    const events = new QueueEvents('controller', { connection: connection.duplicate(), prefix });
    await events.waitUntilReady();
    const sessionId = randomUUID();
    const job = await queues.add('session.notify', { sessionId });
    expect(await job.waitUntilFinished(events, 10_000)).toBe('sent');
    expect(seen).toEqual([{ sessionId }]);
    await worker.close();
    await events.close();
  });

  it('refuses an invalid payload at the producer and writes nothing', async () => {
    const q = queues.queue('controller');
    const before = await q.count();
    await expect(queues.add('session.notify', { sessionId: 'not-a-uuid' } as never)).rejects.toThrow(QueueError);
    await expect(queues.add('task.run', { sessionId: randomUUID(), vmId: randomUUID(), taskIds: [randomUUID()], attempt: 1 })).rejects.toThrow(
      'needs the mover queue',
    );
    expect(await q.count()).toBe(before);
  });

  it('fails a malformed payload at the consumer without retrying it', async () => {
    const name = moverQueue(randomUUID());
    let calls = 0;
    const worker = consume(connection, prefix, name, {
      'task.run': async () => {
        calls++;
      },
    });
    const events = new QueueEvents(name, { connection: connection.duplicate(), prefix });
    await events.waitUntilReady();
    // Written behind the catalog's back, as an old producer version might.
    const job = await queues.queue(name).add('task.run', { taskId: 'x' }, { attempts: 5 });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(/payload of task.run is invalid/);
    const failed = await queues.queue(name).getJob(job.id!);
    expect(failed?.attemptsMade).toBe(1);
    expect(calls).toBe(0);
    await worker.close();
    await events.close();
  });
});
