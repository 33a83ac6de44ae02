import { z } from 'zod';
import { scheduleIssues, type Schedule } from './schedule.js';

/**
 * A backup job's definition, as the wizard edits it, the API validates it and the
 * controller reads it back from the database: one schema for all three.
 */

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const timeOfDay = z.string().regex(TIME, 'must be a time of day HH:MM (00:00–23:59)');

export const jobObjectSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('vm'), vmId: z.uuid() }).strict(),
  z.object({ type: z.literal('host'), hostId: z.uuid() }).strict(),
  /** A name pattern with * and ?, resolved at each run (as Veeam's dynamic containers). */
  z.object({ type: z.literal('pattern'), pattern: z.string().trim().min(1).max(200) }).strict(),
]);
export type JobObject = z.infer<typeof jobObjectSchema>;

export const scheduleSchema: z.ZodType<Schedule> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manual') }).strict(),
  z
    .object({
      kind: z.literal('daily'),
      times: z.array(timeOfDay).min(1, 'at least one time is needed').max(24),
      weekdays: z.array(z.number().int().min(0).max(6)).min(1, 'at least one weekday is needed').max(7),
    })
    .strict(),
  z.object({ kind: z.literal('monthly'), time: timeOfDay, day: z.union([z.number().int().min(1).max(31), z.literal('last')]) }).strict(),
  z.object({ kind: z.literal('periodic'), everyHours: z.number().int().min(1).max(168), startTime: timeOfDay.optional() }).strict(),
  z.object({ kind: z.literal('after'), jobId: z.uuid() }).strict(),
]);

export const BLOCK_SIZES_KIB = [256, 512, 1024, 4096] as const;

export const jobOptionsSchema = z
  .object({
    blockSizeKiB: z
      .union(BLOCK_SIZES_KIB.map((n) => z.literal(n)) as [z.ZodLiteral<256>, z.ZodLiteral<512>, z.ZodLiteral<1024>, z.ZodLiteral<4096>])
      .default(1024),
    compression: z.enum(['none', 'fast', 'optimal', 'high']).default('optimal'),
    /** Quiesce through qemu-guest-agent when the guest runs it. */
    applicationAware: z.boolean().default(true),
    /** Fail the VM instead of falling back to crash-consistent. */
    requireSuccessfulProcessing: z.boolean().default(false),
    /** After each point: every file of its guest file systems listed for search (Veeam's guest file system indexing). */
    indexGuestFiles: z.boolean().default(false),
    activeFull: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('never') }).strict(),
        z.object({ kind: z.literal('weekly'), weekday: z.number().int().min(0).max(6) }).strict(),
        z.object({ kind: z.literal('monthly'), day: z.union([z.number().int().min(1).max(31), z.literal('last')]) }).strict(),
      ])
      .default({ kind: 'never' }),
    /**
     * The job's email after each run (on the SMTP settings): which results send it, and
     * recipients besides the global ones (as Veeam's job-level notification settings).
     */
    notify: z
      .object({
        onSuccess: z.boolean().default(true),
        onWarning: z.boolean().default(true),
        onFailure: z.boolean().default(true),
        to: z.array(z.email('must be an email address')).max(50).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Which of a job's notify switches a session's final status falls under. */
export function notifySwitch(status: string): 'onSuccess' | 'onWarning' | 'onFailure' {
  if (status === 'success') return 'onSuccess';
  if (status === 'warning') return 'onWarning';
  return 'onFailure';
}

export const jobRetentionSchema = z
  .object({
    keepPoints: z.number().int().min(1).max(10_000).optional(),
    keepDays: z.number().int().min(1).max(36_500).optional(),
    gfs: z
      .object({
        weekly: z.number().int().min(0).max(520).default(0),
        monthly: z.number().int().min(0).max(1200).default(0),
        yearly: z.number().int().min(0).max(100).default(0),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((r) => r.keepPoints !== undefined || r.keepDays !== undefined, {
    message: 'keep a number of points or of days',
    path: ['keepPoints'],
  });

export const jobWindowSchema = z
  .object({ allowed: z.array(z.array(z.boolean()).length(24)).length(7) })
  .strict()
  .refine((w) => w.allowed.some((day) => day.some(Boolean)), { message: 'the window allows no hour at all', path: ['allowed'] });

export const jobRetriesSchema = z
  .object({ count: z.number().int().min(0).max(10).default(3), waitMinutes: z.number().int().min(1).max(1440).default(10) })
  .strict();

const jobSpecObject = z
  .object({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(1000).default(''),
    enabled: z.boolean().default(true),
    connectionId: z.uuid(),
    repositoryId: z.uuid(),
    objects: z.array(jobObjectSchema).min(1, 'choose at least one VM, host or pattern').max(1000),
    options: jobOptionsSchema.prefault({}),
    retention: jobRetentionSchema,
    schedule: scheduleSchema,
    timeZone: z.string().min(1).default('UTC'),
    window: jobWindowSchema.nullable().default(null),
    retries: jobRetriesSchema.prefault({}),
  })
  .strict();

function checkTimeZone(spec: { schedule: Schedule; timeZone: string; window: z.infer<typeof jobWindowSchema> | null }, ctx: z.RefinementCtx) {
  for (const issue of scheduleIssues(spec.schedule, spec.timeZone, spec.window)) {
    // Shape problems are zod's own; what is left here is the time zone.
    if (issue.field === 'timeZone') ctx.addIssue({ code: 'custom', path: ['timeZone'], message: issue.message });
  }
}

export const jobSpecSchema = jobSpecObject.superRefine(checkTimeZone);

/** An edit: the definition plus the version the editor loaded (optimistic concurrency). */
export const jobUpdateSchema = jobSpecObject.extend({ version: z.number().int().min(1) }).superRefine(checkTimeZone);

export type JobSpec = z.infer<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;

/** `*` any run of characters, `?` one; case-insensitive, whole name. */
export function matchesPattern(name: string, pattern: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}
