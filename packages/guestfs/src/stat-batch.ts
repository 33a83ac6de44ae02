import { entryOfStat, type GuestEntry } from './entries.js';
import { GuestfsError } from './errors.js';
import { fishArg, fishList, listable, parseLines, parseStruct, parseStructList } from './fish-syntax.js';
import { MAX_LINE_BYTES, type GuestfishProcess } from './guestfish-process.js';
import { joinGuestPath, splitGuestPath } from './paths.js';

/** Room left on a command line for the list, after the command and its folder argument. */
const listRoom = (dir: string) => MAX_LINE_BYTES - 64 - Buffer.byteLength(fishArg(dir));

/** Names cut into lists that each fit one guestfish line; names no list can carry come apart. */
export function batchNames(dir: string, names: string[]): { lists: string[][]; single: string[] } {
  const room = listRoom(dir);
  const lists: string[][] = [];
  const single: string[] = [];
  let current: string[] = [];
  let used = 0;
  for (const name of names) {
    // Each item costs its quoted, escaped bytes and a separating blank.
    const cost = Buffer.byteLength(fishArg(fishList([name]))) - 1;
    if (!listable(name) || cost > room) {
      single.push(name);
      continue;
    }
    if (used + cost > room && current.length) {
      lists.push(current);
      current = [];
      used = 0;
    }
    current.push(name);
    used += cost;
  }
  if (current.length) lists.push(current);
  return { lists, single };
}

async function readlinkOne(fish: GuestfishProcess, hostPath: string): Promise<string> {
  return (await fish.run('readlink', hostPath)).replace(/\n$/, '');
}

/**
 * lstat of names in one folder (`lstatnslist`, as many per command as a line holds), with
 * symbolic links' targets (`readlinklist`). Names gone meanwhile are left out.
 */
export async function statNames(fish: GuestfishProcess, hostDir: string, guestDir: string, names: string[]): Promise<GuestEntry[]> {
  const entries: GuestEntry[] = [];
  const { lists, single } = batchNames(hostDir, names);
  for (const list of lists) {
    const stats = parseStructList(await fish.run('lstatnslist', hostDir, fishList(list)));
    if (stats.length !== list.length)
      throw new GuestfsError('GUESTFS_COMMAND', `lstatnslist gave ${stats.length} results for ${list.length} names in ${guestDir}`);
    const batch: GuestEntry[] = [];
    list.forEach((name, i) => {
      const entry = entryOfStat(splitGuestPath(`/${name}`).name, joinGuestPath(guestDir, name), stats[i]!);
      if (entry) batch.push(entry);
    });
    const links = batch.filter((e) => e.type === 'symlink');
    if (links.length) {
      const relative = links.map((e) => (guestDir === '/' ? e.path.slice(1) : e.path.slice(guestDir.length + 1)));
      const { lists: linkLists } = batchNames(hostDir, relative);
      const targets: string[] = [];
      for (const linkList of linkLists) {
        const lines = parseLines(await fish.run('readlinklist', hostDir, fishList(linkList)), linkList.length);
        // A target with a newline in it makes the printed list ambiguous: ask one by one.
        if (lines) targets.push(...lines);
        else for (const rel of linkList) targets.push(await readlinkOne(fish, joinGuestPath(hostDir, rel)));
      }
      links.forEach((e, i) => (e.linkTarget = targets[i]));
    }
    entries.push(...batch);
  }
  for (const name of single) {
    const entry = await statOne(fish, joinGuestPath(hostDir, name), joinGuestPath(guestDir, name)).catch((e: unknown) => {
      if (e instanceof GuestfsError && e.code === 'GUESTFS_NOT_FOUND') return null; // gone meanwhile, as lstatnslist skips it
      throw e;
    });
    if (entry) entries.push(entry);
  }
  return entries;
}

/** lstat of one path (and its target when it is a symbolic link). */
export async function statOne(fish: GuestfishProcess, hostPath: string, guestPath: string): Promise<GuestEntry> {
  const stat = parseStruct(await fish.run('lstatns', hostPath));
  const entry = entryOfStat(splitGuestPath(guestPath).name, guestPath, stat);
  if (!entry) throw new GuestfsError('GUESTFS_NOT_FOUND', `${guestPath}: No such file or directory`);
  if (entry.type === 'symlink') entry.linkTarget = await readlinkOne(fish, hostPath);
  return entry;
}
