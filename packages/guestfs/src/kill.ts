import { readdir, readFile } from 'node:fs/promises';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** State and process group of a pid from /proc/<pid>/stat, or null when it is gone. */
async function procStat(pid: number): Promise<{ state: string; pgid: number } | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null); // gone
  if (stat === null) return null;
  // After the parenthesized name (which may hold spaces): state, ppid, pgrp.
  const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: state ?? '?', pgid: Number(pgrp) };
}

/**
 * Whether a process of the group (or the pid) still runs. Zombies do not count: a killed
 * guestfish whose parent died is reaped by init, which may take its time (or, in a container
 * without a reaping init, never).
 */
async function running(pid: number, group: boolean): Promise<boolean> {
  const pids = group ? (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number) : [pid];
  for (const p of pids) {
    const s = await procStat(p);
    if (s && s.state !== 'Z' && (!group || s.pgid === pid)) return true;
  }
  return false;
}

/**
 * For a janitor after a crash: when `pid` is a guestfish (what `GuestfsAppliance.pid` was),
 * SIGKILLs its process group — guestfish, qemu and libguestfs's recovery process — and waits
 * until the group is gone. False when nothing of that kind was there (the pid is gone, or is
 * now some other program's: pids are reused).
 */
export async function killAppliance(pid: number, timeoutMs = 10_000): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null); // gone: nothing to kill
  if (cmdline === null) return false;
  const argv0 = cmdline.split('\0')[0] ?? '';
  if (!/(^|\/)guestfish$/.test(argv0) && !/libguestfs/.test(cmdline)) return false;
  const stat = await procStat(pid);
  if (stat === null) return false;
  // Ours lead their own group; a guestfish that does not is killed alone, never its group.
  const group = stat.pgid === pid;
  const target = group ? -pid : pid;
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    return false; // ESRCH: gone between the check and the kill
  }
  const deadline = Date.now() + timeoutMs;
  while ((await running(pid, group)) && Date.now() < deadline) await sleep(50);
  return true;
}
