import { z } from 'zod';

/**
 * What a user asks a restore to do, as the API and the console send it and as the
 * session keeps it (`Session.request`). Targets are named, never given as paths: a
 * storage pool of the chosen connection, or a directory an administrator registered as
 * a restore target. The server resolves names to paths from its own records.
 */

export const RESTORE_KINDS = ['vm-new', 'vm-original', 'disks', 'instant', 'files'] as const;
export type RestoreKind = (typeof RESTORE_KINDS)[number];

export const RESTORE_KIND_NAMES: Record<RestoreKind, string> = {
  'vm-new': 'Entire VM restore (new VM)',
  'vm-original': 'Entire VM restore (original VM)',
  disks: 'Virtual disk restore',
  instant: 'Instant VM recovery',
  files: 'Guest file restore',
};

export const IMAGE_FORMATS = ['qcow2', 'raw'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** A VM name as libvirt takes it: letters, digits and `._-+`, no path separators. */
export const vmNameSchema = z
  .string()
  .trim()
  .min(1, 'a name is required')
  .max(100, 'at most 100 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'letters, digits and . _ + - only, starting with a letter or digit');

/** A libvirt storage pool (or registered directory) of the target connection, by name. */
const poolNameSchema = z
  .string()
  .trim()
  .min(1, 'choose a storage pool')
  .max(200)
  .regex(/^[^/\0]+$/, 'a pool name, not a path');

const uuid = z.uuid();

const newVmSchema = z.object({
  kind: z.literal('vm-new'),
  pointId: uuid,
  name: vmNameSchema,
  connectionId: uuid,
  /** The host the VM is defined on; the connection's first host when absent. */
  hostId: uuid.optional(),
  pool: poolNameSchema,
  format: z.enum(IMAGE_FORMATS).default('qcow2'),
  /** Veeam's "restore with network disconnected": interfaces defined with their link down. */
  networks: z.enum(['connected', 'disconnected']).default('connected'),
  powerOn: z.boolean().default(false),
});

const originalVmSchema = z.object({
  kind: z.literal('vm-original'),
  pointId: uuid,
  /** The user confirms that the VM is (or will be) powered off and its disks overwritten. */
  confirmOverwrite: z.literal(true, 'confirm that the VM is powered off and its disks are overwritten'),
  /** Write back only the blocks that can differ when the VM still has the checkpoint of its latest point. */
  quickRollback: z.boolean().default(true),
  powerOn: z.boolean().default(false),
});

const disksSchema = z.object({
  kind: z.literal('disks'),
  pointId: uuid,
  /** Disks of the point (their target names, e.g. vdb). */
  disks: z.array(z.string().min(1)).min(1, 'choose at least one disk'),
  to: z.discriminatedUnion('mode', [
    /** Image files in a pool of a connection, attached to nothing. */
    z.object({ mode: z.literal('pool'), connectionId: uuid, pool: poolNameSchema, format: z.enum(IMAGE_FORMATS).default('qcow2') }),
    /** New disks of an existing VM: images in a pool, attached to its configuration. */
    z.object({ mode: z.literal('attach'), vmId: uuid, pool: poolNameSchema, format: z.enum(IMAGE_FORMATS).default('qcow2') }),
    /** Over disks of a powered-off VM: each chosen disk onto the VM's disk of the same target. */
    z.object({ mode: z.literal('replace'), vmId: uuid, confirmOverwrite: z.literal(true, 'confirm that the disks are overwritten') }),
  ]),
});

const instantSchema = z.object({
  kind: z.literal('instant'),
  pointId: uuid,
  /** The recovered VM's name; the original's when absent (allowed only when the original is gone). */
  name: vmNameSchema.optional(),
  connectionId: uuid,
  hostId: uuid.optional(),
  networks: z.enum(['connected', 'disconnected']).default('disconnected'),
});

/** How a restored file meets one of the same name in the VM. */
export const FILE_RESTORE_MODES = ['overwrite', 'keep-both'] as const;
export type FileRestoreMode = (typeof FILE_RESTORE_MODES)[number];

/**
 * Files and folders of a guest-file mount written back into the running original VM through
 * its guest agent. Paths are the file browser's (`/<file system>/<path in it>`); the server
 * resolves each file system to where the running guest mounts it, never to a host path.
 */
/**
 * A file browser path, `/<file system>/<path in it>`, as its parts: the file system's key
 * and the absolute path inside it (`/` for the file system itself). The one reading of
 * that form, for the mover's file service, a file restore, and versions.
 */
export function splitBrowserPath(path: string): { key: string; inner: string } {
  const [key, ...rest] = path.slice(1).split('/');
  return { key: key ?? '', inner: `/${rest.join('/')}` };
}

/** The file browser's paths of a guest file restore: `/<file system>/<path in it>`, no `..`. */
export const fileRestorePathsSchema = z
  .array(
    z
      .string()
      .min(2, 'a path inside a file system')
      .max(4096)
      .regex(/^\/[^\0]+$/, 'a path of the file browser, starting with / and its file system')
      .refine(
        (p) =>
          p
            .split('/')
            .slice(1)
            .every((s) => s !== '' && s !== '.' && s !== '..'),
        'a path without empty, . or .. segments',
      ),
  )
  .min(1, 'choose at least one file or folder')
  .max(1000, 'at most 1000 paths at once');

const filesSchema = z.object({
  kind: z.literal('files'),
  pointId: uuid,
  /** The file browser the files were chosen in (its owner restores from it). */
  mountId: uuid,
  paths: fileRestorePathsSchema,
  /** overwrite: the guest's file is replaced; keep-both: the restored copy gets a `.restored-<time>` suffix beside it. */
  mode: z.enum(FILE_RESTORE_MODES, 'overwrite or keep-both'),
});
export type FileRestoreRequest = z.infer<typeof filesSchema>;

/** The restores of a VM or its disks (`POST /restores`); guest files go from their file browser. */
export const vmRestoreRequestSchema = z.discriminatedUnion('kind', [newVmSchema, originalVmSchema, disksSchema, instantSchema]);

export const restoreRequestSchema = z.discriminatedUnion('kind', [newVmSchema, originalVmSchema, disksSchema, instantSchema, filesSchema]);
export type RestoreRequest = z.infer<typeof restoreRequestSchema>;
export type RestoreRequestInput = z.input<typeof restoreRequestSchema>;

/** A refusal naming the field, as the API answers it (400/404/409 with `field`). */
export type RestoreRefusal = { field: string; message: string; status: 400 | 404 | 409 | 503 };

/**
 * How a disk's blocks get to the target, decided on the mover once the VM is looked at:
 * every data block, or (quick rollback) only those that can differ.
 */
export type RollbackPlan = { mode: 'full'; why: string } | { mode: 'quick'; checkpoint: string; latestPointId: string };

/**
 * Whether an in-place restore may write back only some blocks: the VM must still carry the
 * checkpoint of the latest point of this VM, so that libvirt's bitmap since it plus the
 * blocks whose digests differ between the chosen and the latest point cover every block
 * that can differ between the disk now and the chosen point.
 */
export function planRollback(input: {
  requested: boolean;
  latestPoint: { id: string; checkpoint: string | null } | null;
  vmCheckpoints: readonly string[];
  /** The disks of the chosen point and of the latest point have the same sizes and block size. */
  sameGeometry: boolean;
}): RollbackPlan {
  if (!input.requested) return { mode: 'full', why: 'quick rollback was not asked for' };
  if (!input.latestPoint) return { mode: 'full', why: 'the VM has no restore point to compare with' };
  if (!input.latestPoint.checkpoint) return { mode: 'full', why: 'the latest restore point carries no checkpoint' };
  if (!input.vmCheckpoints.includes(input.latestPoint.checkpoint))
    return { mode: 'full', why: `the VM no longer has checkpoint ${input.latestPoint.checkpoint} of its latest restore point` };
  if (!input.sameGeometry) return { mode: 'full', why: 'the disks changed size or block size since the chosen point' };
  return { mode: 'quick', checkpoint: input.latestPoint.checkpoint, latestPointId: input.latestPoint.id };
}
