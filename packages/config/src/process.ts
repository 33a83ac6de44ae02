import { readdirSync, readFileSync } from 'node:fs';

/**
 * Which process a pid names: its start time (clock ticks since boot, /proc/<pid>/stat field
 * 22). A pid alone is not an identity: after a crash and a restart the same pid may come
 * back — always so in a container, where the worker is pid 1 every time. Null when no
 * such process exists (or /proc is not there to tell).
 */
export function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in field 2 may contain spaces and parentheses: count from its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return null;
  }
}

/** Whether the process that recorded (pid, start) still runs: the same pid, started at the same time. */
export function isSameProcessAlive(pid: number, start: number): boolean {
  return processStart(pid) === start;
}

/** A process's command line, arguments joined by spaces; '' when it has exited meanwhile. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * The processes (other than this one) whose command line passes `test`: what a dead owner
 * left running — a qemu-nbd serving from a job folder, an appliance naming its mount's socket.
 */
export function processesWhere(test: (commandLine: string) => boolean): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .map(Number)
    .filter((pid) => test(commandLine(pid)));
}
