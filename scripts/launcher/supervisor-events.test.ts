import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SupervisorEvent } from './processes.js';
import { appendSupervisorEvent, EVENTS_KEPT, eventsPath } from './supervisor-events.js';

const event = (restarts: number, extra: Partial<SupervisorEvent> = {}): SupervisorEvent => ({
  process: 'worker',
  kind: 'restarted',
  exitCode: 1,
  signal: null,
  restarts,
  at: new Date(Date.UTC(2025, 4, 1, 10, 0, restarts)),
  ...extra,
});

const readLines = (dataDir: string) => readFileSync(eventsPath(dataDir), 'utf8').trimEnd().split('\n');

describe('appendSupervisorEvent', () => {
  it('appends one JSON object per line, oldest first, with an ISO time; creating the data folder', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'strongbox-events-')), 'data');
    appendSupervisorEvent(dataDir, event(1));
    appendSupervisorEvent(dataDir, event(4, { process: 'web', kind: 'gave-up', exitCode: null, signal: 'SIGKILL' }));

    expect(eventsPath(dataDir)).toBe(join(dataDir, 'supervisor-events.jsonl'));
    expect(readLines(dataDir)).toEqual([
      '{"process":"worker","kind":"restarted","exitCode":1,"signal":null,"restarts":1,"at":"2025-05-01T10:00:01.000Z"}',
      '{"process":"web","kind":"gave-up","exitCode":null,"signal":"SIGKILL","restarts":4,"at":"2025-05-01T10:00:04.000Z"}',
    ]);
    expect(readdirSync(dataDir)).toEqual(['supervisor-events.jsonl']); // no temporary file left
  });

  it(`keeps only the last ${EVENTS_KEPT} events`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strongbox-events-'));
    for (let i = 1; i <= EVENTS_KEPT + 5; i++) appendSupervisorEvent(dataDir, event(i));

    const lines = readLines(dataDir);
    expect(lines).toHaveLength(EVENTS_KEPT);
    expect((JSON.parse(lines[0]!) as SupervisorEvent).restarts).toBe(6);
    expect((JSON.parse(lines.at(-1)!) as SupervisorEvent).restarts).toBe(EVENTS_KEPT + 5);
  });
});
