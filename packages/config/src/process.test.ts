import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { commandLine, isSameProcessAlive, processesWhere, processStart } from './process.js';

describe('process identity', () => {
  it('finds a process by its command line, never this one, and reads its identity', async () => {
    const marker = `sb-marker-${randomBytes(4).toString('hex')}`;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', marker], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      expect(processesWhere((cmd) => cmd.includes(marker))).toEqual([child.pid]);
      expect(commandLine(child.pid!)).toContain(marker);
      expect(processesWhere(() => true)).not.toContain(process.pid);
      const start = processStart(child.pid!);
      expect(start).toBeGreaterThan(0);
      expect(isSameProcessAlive(child.pid!, start!)).toBe(true);
      expect(isSameProcessAlive(child.pid!, start! + 1)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    expect(processesWhere((cmd) => cmd.includes(marker))).toEqual([]);
    expect(commandLine(child.pid!)).toBe('');
  });
});
