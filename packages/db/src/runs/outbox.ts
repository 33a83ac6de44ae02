import { envelope, type JobName, type PayloadInput } from '@strongbox/queue/catalog';
import type { Db } from '../client.js';
import type { Prisma } from '../generated/client.js';

export type OutboxSend = (message: { queue: string; name: string; data: unknown; jobId: string }) => Promise<unknown>;

/**
 * Queue messages committed with the state they announce: `put` inside the transaction that
 * made the state, `relay` after it (and again at every round, so that a crash between the
 * two only delays a message). A message is deleted once BullMQ has it; its job id makes a
 * second send of it, by a relay that crashed before the delete, a no-op.
 */
export class Outbox {
  constructor(private readonly db: Db) {}

  async put<N extends JobName>(name: N, payload: PayloadInput<N>, to: { queue: string; jobId: string }): Promise<void> {
    await this.db.outboxMessage.create({ data: { queue: to.queue, name, payload: envelope(name, payload) as Prisma.InputJsonValue, jobId: to.jobId } });
  }

  /** Sends what is waiting, oldest first; returns how many went. */
  async relay(send: OutboxSend, batch = 200): Promise<number> {
    const rows = await this.db.outboxMessage.findMany({ orderBy: { id: 'asc' }, take: batch });
    for (const row of rows) {
      await send({ queue: row.queue, name: row.name, data: row.payload, jobId: row.jobId });
      await this.db.outboxMessage.deleteMany({ where: { id: row.id } });
    }
    return rows.length;
  }
}
