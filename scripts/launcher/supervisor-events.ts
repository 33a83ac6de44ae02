import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SupervisorEvent } from './processes.js';

/**
 * `<dataDir>/supervisor-events.jsonl`: what `npm start`'s Supervisor did, for the console to
 * show (e.g. "the worker restarted 3 times today"). One JSON object per line, oldest first:
 *
 *   {"process":"worker","kind":"restarted","exitCode":1,"signal":null,"restarts":3,"at":"2025-05-01T10:00:00.000Z"}
 *
 * - process: the supervised process, `web` or `worker` (controller + mover)
 * - kind: `restarted` (a new run was spawned after a crash) or `gave-up` (it crashed too often;
 *   `npm start` then stopped everything and exited non-zero)
 * - exitCode / signal: how the crashed run ended, one of them set (both null: it could not be spawned)
 * - restarts: restarts of that process since that `npm start` began (for gave-up: before giving up)
 * - at: ISO 8601 UTC time of the restart or of the give-up
 *
 * The file spans several starts of `npm start`, keeps only the last EVENTS_KEPT lines, and is
 * replaced whole by a rename, so a reader never sees a partly written line.
 */
export const EVENTS_FILE = 'supervisor-events.jsonl';
export const EVENTS_KEPT = 200;

export function eventsPath(dataDir: string): string {
  return join(dataDir, EVENTS_FILE);
}

/** Appends one event, dropping the oldest beyond `keep`. Events are rare (a few a minute at most), so rewriting is cheap. */
export function appendSupervisorEvent(dataDir: string, event: SupervisorEvent, keep = EVENTS_KEPT): void {
  const path = eventsPath(dataDir);
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
  lines.push(JSON.stringify({ ...event, at: event.at.toISOString() }));
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(`${path}.tmp`, `${lines.slice(-keep).join('\n')}\n`);
  renameSync(`${path}.tmp`, path);
}
