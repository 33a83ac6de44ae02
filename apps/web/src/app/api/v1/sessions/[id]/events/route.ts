import { NextResponse } from 'next/server';
import { prisma, Runs } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { pathId } from '@/server/schemas';
import { sessionDetail, toLogDto } from '@/server/sessions-service';
import { messageOf } from '@strongbox/core';

export const dynamic = 'force-dynamic';

/**
 * Server-sent events for the session page: a `session` event with the whole session
 * whenever it changed (checked every second) and `log` events with new lines; the stream
 * ends with `end` once the session has ended. Movers write their figures to PostgreSQL
 * every second, so any web replica can serve any session.
 */
export const GET = apiRoute<undefined, { id: string }>({ permission: 'read' }, async ({ req, params }) => {
  const id = pathId(params.id, 'session');
  const db = prisma();
  const runs = new Runs(db);
  // Read once before the stream opens, so that an unknown session is a 404.
  let session = await sessionDetail(db, id);
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (event: string, data: unknown) => controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      let last = '';
      let after = 0n;
      try {
        for (;;) {
          const json = JSON.stringify({ ...session, durationMs: 0 });
          if (json !== last) send('session', session);
          last = json;
          const logs = await runs.logs(id, after);
          if (logs.length) {
            after = logs[logs.length - 1]!.id;
            send('log', logs.map(toLogDto));
          }
          if (session.endedAt) {
            send('end', { status: session.status });
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 1000));
          if (req.signal.aborted) break;
          session = await sessionDetail(db, id);
        }
      } catch (error) {
        send('error', { message: messageOf(error) });
      }
      controller.close();
    },
  });
  return new NextResponse(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive' } });
});
