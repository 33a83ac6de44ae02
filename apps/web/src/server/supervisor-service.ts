import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { env } from '@strongbox/config';

/** One line of `<dataDir>/supervisor-events.jsonl`, as `npm start`'s supervisor writes it (scripts/launcher/supervisor-events.ts). */
const eventSchema = z.object({
  process: z.string(),
  kind: z.enum(['restarted', 'gave-up']),
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  restarts: z.number(),
  at: z.iso.datetime(),
});
export type SupervisorEvent = z.infer<typeof eventSchema>;

/**
 * The restarts of Strongbox's own processes over the last `hours`, newest first, as `npm
 * start` recorded them. Empty where no supervisor writes the file (a container's restart
 * policy is its own record). A line that does not parse is skipped: the file is a log,
 * not a contract a console should fail on.
 */
export async function recentRestarts(hours = 24, now = new Date()): Promise<SupervisorEvent[]> {
  let text: string;
  try {
    text = await readFile(join(env().dataDir, 'supervisor-events.jsonl'), 'utf8');
  } catch (error) {
    // No file: nothing was restarted yet, or no supervisor runs here.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const since = now.getTime() - hours * 3_600_000;
  return text
    .split('\n')
    .flatMap((line) => {
      if (!line.trim()) return [];
      try {
        const parsed = eventSchema.safeParse(JSON.parse(line));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    })
    .filter((e) => Date.parse(e.at) >= since)
    .reverse();
}
