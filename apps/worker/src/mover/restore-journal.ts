import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_WORK_DIR } from '@strongbox/hypervisors';

/**
 * What a restore made on the host, written down before it is made: a restore killed with
 * SIGKILL leaves this file, and the mover's next start (or the next restore on it) removes
 * what it names — the half-defined VM and the partial images — so that nothing a failed
 * restore made outlives it. A restore that ends well deletes the file; one that fails
 * undoes the same list itself.
 */
const journalSchema = z.object({
  sessionId: z.string(),
  uri: z.string(),
  /** A VM this restore defined (not one it wrote in place). */
  vm: z.string().nullable(),
  volumes: z.array(z.object({ pool: z.string(), name: z.string() })),
  /** Scratch folders (instant recovery's overlays and socket). */
  dirs: z.array(z.string()),
});
export type JournalEntries = z.infer<typeof journalSchema>;

export const journalDir = (workDir: string | undefined) => join(workDir ?? DEFAULT_WORK_DIR, 'restores');

export class RestoreJournal {
  private constructor(
    private readonly file: string,
    readonly entries: JournalEntries,
  ) {}

  static async begin(workDir: string | undefined, sessionId: string, uri: string): Promise<RestoreJournal> {
    const dir = journalDir(workDir);
    await mkdir(dir, { recursive: true });
    const journal = new RestoreJournal(join(dir, `${sessionId}.json`), { sessionId, uri, vm: null, volumes: [], dirs: [] });
    await journal.save();
    return journal;
  }

  /** Written before the volume is created: a crash between the two leaves a name to try, never an image unnamed. */
  async volume(pool: string, name: string): Promise<void> {
    this.entries.volumes.push({ pool, name });
    await this.save();
  }

  async vm(name: string): Promise<void> {
    this.entries.vm = name;
    await this.save();
  }

  async dir(path: string): Promise<void> {
    this.entries.dirs.push(path);
    await this.save();
  }

  /** The restore is complete: what it made stays. */
  async done(): Promise<void> {
    await rm(this.file, { force: true });
  }

  private async save(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(this.entries));
    await rename(tmp, this.file);
  }

  /** Journals left by restores that never ended (a process killed), oldest first. */
  static async unfinished(workDir: string | undefined): Promise<{ file: string; entries: JournalEntries }[]> {
    const dir = journalDir(workDir);
    const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
    const found: { file: string; entries: JournalEntries }[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const file = join(dir, name);
      const parsed = journalSchema.safeParse(JSON.parse(await readFile(file, 'utf8').catch(() => 'null')));
      if (parsed.success) found.push({ file, entries: parsed.data });
      else await rm(file, { force: true }); // a journal torn by the crash itself named nothing yet
    }
    return found;
  }
}

/** What undoing needs of the hypervisor: idempotent removals. */
export type Undo = {
  destroyAndUndefine(name: string): Promise<void>;
  deleteVolume(pool: string, name: string): Promise<void>;
};

/** Removes what a journal names, VM first (it holds the images), and then the journal. */
export async function undoJournal(entries: JournalEntries, undo: Undo, file?: string): Promise<string[]> {
  const did: string[] = [];
  if (entries.vm) {
    await undo.destroyAndUndefine(entries.vm);
    did.push(`VM ${entries.vm} undefined`);
  }
  for (const v of entries.volumes) {
    await undo.deleteVolume(v.pool, v.name);
    did.push(`image ${v.name} removed from pool ${v.pool}`);
  }
  for (const d of entries.dirs) {
    await rm(d, { recursive: true, force: true });
    did.push(`scratch folder ${d} removed`);
  }
  if (file) await rm(file, { force: true });
  return did;
}
