import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What start-up chose once and reuses on every later start of the same clone: ports,
 * generated passwords, the session signing secret. Kept in .data (mode 0600), never in git.
 */
export type LocalState = {
  postgres?: { port: number; password: string };
  redis?: { port: number; password: string };
  authSecret?: string;
};

export function statePath(dataDir: string) {
  return join(dataDir, 'local-state.json');
}

export function readState(dataDir: string): LocalState {
  const path = statePath(dataDir);
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as LocalState;
}

export function writeState(dataDir: string, state: LocalState): void {
  mkdirSync(dataDir, { recursive: true });
  const path = statePath(dataDir);
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  chmodSync(`${path}.tmp`, 0o600);
  renameSync(`${path}.tmp`, path);
}

export const secret = (bytes = 24) => randomBytes(bytes).toString('base64url');
