import { z } from 'zod';

/**
 * The JSON columns of runs, one schema each: written by the run module, parsed with the
 * same schema wherever they are read (a column is never cast to a shape).
 */

/** [milliseconds since the epoch, bytes read so far], one per second of a disk task. */
const sampleSchema = z.tuple([z.number(), z.number()]);

/** A running task's live figures (`Task.progress`). */
export const taskProgressSchema = z.object({
  totalBytes: z.number(),
  rate: z.number(),
  etaSeconds: z.number().nullable(),
  busy: z.record(z.string(), z.number()),
  bottleneck: z.string(),
  throttledMs: z.number(),
  history: z.array(sampleSchema).optional(),
});
export type TaskProgressFigures = z.infer<typeof taskProgressSchema>;

export const retentionResultSchema = z.object({ deleted: z.number().int() });
export const gcResultSchema = z.object({ chunksDeleted: z.number(), bytesFreed: z.number(), debrisRemoved: z.number(), keptYoung: z.number() });
/** The point counts came later: results recorded before them parse without. */
export const verifyResultSchema = z.object({
  chunksChecked: z.number().int(),
  bad: z.number().int(),
  pointsChecked: z.number().int().optional(),
  pointsDamaged: z.number().int().optional(),
  pointsUnreadable: z.number().int().optional(),
});
export type VerifyResult = z.infer<typeof verifyResultSchema>;

/**
 * What a restore did: where to (the VM or images it made or wrote), and how many blocks of
 * each kind it wrote (a quick rollback writes few; `mode` says which it was and why).
 */
export const restoreResultSchema = z.object({
  restore: z.enum(['vm-new', 'vm-original', 'disks', 'instant']),
  target: z.string(),
  mode: z.enum(['full', 'quick']),
  why: z.string().optional(),
  blocksWritten: z.number().int(),
  blocksZeroed: z.number().int(),
  blocksSkipped: z.number().int(),
  bytesWritten: z.number(),
  durationMs: z.number(),
});
export type RestoreResult = z.infer<typeof restoreResultSchema>;

/** What a guest file restore did: files written into the running VM, and what it could not do. */
export const fileRestoreResultSchema = z.object({
  restore: z.literal('files'),
  /** The VM written into. */
  target: z.string(),
  files: z.number().int(),
  folders: z.number().int(),
  /** Written beside the guest's own file (keep both), not over it. */
  keptBoth: z.number().int(),
  /** Entries that are neither file, folder nor link (devices, sockets): left out, each named in the log. */
  skipped: z.number().int(),
  /** Files whose owner, mode or time the guest did not let the agent keep. */
  metaNotKept: z.number().int(),
  bytesWritten: z.number(),
  durationMs: z.number(),
});
export type FileRestoreResult = z.infer<typeof fileRestoreResultSchema>;

/** What a guest file indexing did: the points it listed, their files, the time it took. */
export const indexResultSchema = z.object({
  pointsIndexed: z.number().int(),
  pointsFailed: z.number().int(),
  filesIndexed: z.number().int(),
  durationMs: z.number(),
});
export type IndexResult = z.infer<typeof indexResultSchema>;

/** What a maintenance or restore unit produced (`Task.result`), which becomes its session's summary. */
export const unitResultSchema = z.union([
  restoreResultSchema,
  fileRestoreResultSchema,
  retentionResultSchema,
  gcResultSchema,
  verifyResultSchema,
  indexResultSchema,
]);
export type UnitResult = z.infer<typeof unitResultSchema>;

/** A closed backup session's figures (`Session.summary`). */
export const backupSummarySchema = z.object({
  vms: z.number().int(),
  success: z.number().int(),
  warning: z.number().int(),
  failed: z.number().int(),
  bytesRead: z.number(),
  bytesTransferred: z.number(),
  durationMs: z.number(),
});
export type BackupSummary = z.infer<typeof backupSummarySchema>;

/** How a guest-file mount's session ended (`Session.summary` of kind `mount`). */
export const mountSummarySchema = z.object({
  kind: z.literal('mount'),
  reason: z.string(),
  error: z.string().optional(),
  durationMs: z.number(),
});
export type MountSummary = z.infer<typeof mountSummarySchema>;

export const sessionSummarySchema = z.union([
  backupSummarySchema,
  restoreResultSchema,
  fileRestoreResultSchema,
  retentionResultSchema,
  gcResultSchema,
  verifyResultSchema,
  indexResultSchema,
  mountSummarySchema,
]);
export type SessionSummary = z.infer<typeof sessionSummarySchema>;

/** Parses a JSON column that may be null; a value of another shape is a defect, so it throws. */
export function parseColumn<S extends z.ZodType>(schema: S, value: unknown, column: string): z.infer<S> | null {
  if (value === null || value === undefined) return null;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${column} holds a value of an unexpected shape: ${parsed.error.message}`);
  return parsed.data;
}

/** A restore point's disks as the catalog keeps them (`RestorePoint.disks`): the manifest's, with what each added to the store. */
export const pointDisksSchema = z.array(
  z.looseObject({ name: z.string(), size: z.number(), blockSize: z.number(), codec: z.string(), newBytes: z.number(), storedBytes: z.number() }),
);
export type PointDisks = z.infer<typeof pointDisksSchema>;
