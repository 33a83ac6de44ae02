import { z, type ZodType } from 'zod';
import { jobSpecSchema, restoreResultSchema, type Permission } from '@strongbox/core';
import {
  catalogPointDto,
  catalogVmDto,
  instantMigrateBody,
  instantRecoveryDto,
  restoreRequestBody,
  restoreRequestDto,
  storagePoolDto,
} from './restore-schemas';
import { DOWNLOAD_FORMATS, fileRestoreBody, guestFileHitDto, listingDto, mountDto, versionsDto } from './mount-schemas';
import {
  createConnectionBody,
  createTokenBody,
  createUserBody,
  processingBody,
  repositoryBody,
  updateRepositoryBody,
  errorDto,
  healthDto,
  moverDto,
  smtpBody,
  testMailBody,
  tokenDto,
  updateJobBody,
  updateMoverBody,
  updateUserBody,
  userDto,
} from './schemas';

type Operation = {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  permission: Permission | 'public';
  body?: ZodType;
  response?: ZodType;
  status?: number;
  /** Query parameters worth a line of their own (a list or a page's are said in the summary). */
  query?: { name: string; description: string; schema: object; required?: boolean }[];
};

/** What a start answers: the session it made. */
const runStartedDto = z.object({ sessionId: z.uuid() });

const list = (item: ZodType) => z.object({ data: z.array(item), total: z.number(), page: z.number(), perPage: z.number() });

/** A restore session: the session's figures and tasks (as `GET /sessions/{id}`), its request, and its result once it ended. */
const restoreSessionDto = z.looseObject({
  id: z.uuid(),
  kind: z.literal('restore'),
  name: z.string(),
  status: z.string(),
  triggeredBy: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  percent: z.number(),
  summary: restoreResultSchema.nullable(),
  tasks: z.array(z.looseObject({ diskName: z.string().nullable(), status: z.string(), percent: z.number() })),
  restore: restoreRequestDto,
});
const accepted = z.object({ accepted: z.literal(true) });

/** A guest path: absolute, starting at a file system's key (`/sda1/etc/hosts`); `..` and NUL are refused. */
const guestPathParam = (description: string) => ({ name: 'path', description, schema: { type: 'string', examples: ['/', '/sda1/etc'] } });

/** The API's operations; the document is generated from the same zod schemas the routes parse. */
export const OPERATIONS: Operation[] = [
  { method: 'get', path: '/health', summary: 'Database, Redis and movers', permission: 'public', response: healthDto },
  { method: 'get', path: '/me', summary: 'The caller', permission: 'read' },
  { method: 'get', path: '/users', summary: 'List users', permission: 'users.manage', response: list(userDto) },
  { method: 'post', path: '/users', summary: 'Add a user', permission: 'users.manage', body: createUserBody, response: userDto, status: 201 },
  { method: 'get', path: '/users/{id}', summary: 'One user', permission: 'users.manage', response: userDto },
  {
    method: 'patch',
    path: '/users/{id}',
    summary: 'Change a user (name, role, disabled, password); 409 when `version` is stale',
    permission: 'users.manage',
    body: updateUserBody,
    response: userDto,
  },
  { method: 'delete', path: '/users/{id}', summary: 'Delete a user', permission: 'users.manage', status: 204 },
  { method: 'get', path: '/tokens', summary: "The caller's API tokens", permission: 'read', response: list(tokenDto) },
  { method: 'post', path: '/tokens', summary: 'Create an API token (shown once)', permission: 'read', body: createTokenBody, status: 201 },
  { method: 'delete', path: '/tokens/{id}', summary: 'Revoke an API token', permission: 'read', status: 204 },
  { method: 'get', path: '/logins', summary: "The caller's open console logins", permission: 'read' },
  { method: 'delete', path: '/logins/{id}', summary: 'End a console login', permission: 'read', status: 204 },
  { method: 'get', path: '/audit', summary: 'Audit log, newest first', permission: 'users.manage' },
  { method: 'get', path: '/movers', summary: 'Movers (proxies), online or not', permission: 'read', response: list(moverDto) },
  {
    method: 'patch',
    path: '/movers/{id}',
    summary: "Change a mover's task limit or disable it; 409 when `version` is stale",
    permission: 'infrastructure.edit',
    body: updateMoverBody,
    response: moverDto,
  },
  { method: 'get', path: '/connections', summary: 'Hypervisor connections', permission: 'read' },
  {
    method: 'post',
    path: '/connections',
    summary: 'Add a libvirt connection; its inventory is read at once',
    permission: 'infrastructure.edit',
    body: createConnectionBody,
    status: 201,
  },
  { method: 'get', path: '/connections/{id}', summary: 'One connection, with its last rescan', permission: 'read' },
  { method: 'delete', path: '/connections/{id}', summary: 'Remove a connection no job uses (Administrator)', permission: 'delete', status: 204 },
  { method: 'post', path: '/connections/{id}/rescan', summary: 'Read the inventory again now', permission: 'infrastructure.edit', status: 202 },
  { method: 'get', path: '/vms', summary: 'Virtual machines of the inventory (?connectionId=, ?includeRemoved=true)', permission: 'read' },
  { method: 'get', path: '/jobs', summary: 'Backup jobs', permission: 'read' },
  {
    method: 'post',
    path: '/jobs',
    summary: 'Create a backup job; 400 names each bad field, nothing is written',
    permission: 'jobs.edit',
    body: jobSpecSchema,
    status: 201,
  },
  { method: 'get', path: '/jobs/{id}', summary: 'One backup job', permission: 'read' },
  { method: 'put', path: '/jobs/{id}', summary: 'Change a backup job; 409 when `version` is stale', permission: 'jobs.edit', body: updateJobBody },
  { method: 'delete', path: '/jobs/{id}', summary: 'Delete a backup job (Administrator)', permission: 'delete', status: 204 },
  { method: 'post', path: '/jobs/{id}/clone', summary: 'Copy a job (the copy starts disabled)', permission: 'jobs.edit', status: 201 },
  {
    method: 'post',
    path: '/jobs/{id}/start',
    summary: 'Start a run now: its session exists when this answers (`GET /sessions/{sessionId}`); 409 naming the running session while the job runs',
    permission: 'jobs.run',
    response: runStartedDto,
    status: 202,
  },
  {
    method: 'post',
    path: '/vms/{id}/quick-backup',
    summary: 'Quick backup: an incremental of one VM now, by the job of its latest restore point; answers with its session',
    permission: 'jobs.run',
    response: runStartedDto.extend({ jobId: z.uuid() }),
    status: 202,
  },
  { method: 'get', path: '/sessions', summary: 'Job runs and maintenance, newest first (?status=, ?jobId=, ?kind=, paginated)', permission: 'read' },
  { method: 'get', path: '/sessions/{id}', summary: 'One session with a task per VM disk: progress, figures, bottleneck, result', permission: 'read' },
  { method: 'get', path: '/sessions/{id}/logs', summary: 'Log lines after the cursor `after`', permission: 'read' },
  { method: 'get', path: '/sessions/{id}/events', summary: 'Server-sent events: `session` on every change, `log` lines, `end`', permission: 'read' },
  {
    method: 'post',
    path: '/sessions/{id}/stop',
    summary: 'Stop a running session (a restore session: permission `restore` instead)',
    permission: 'jobs.run',
    status: 202,
  },
  {
    method: 'post',
    path: '/sessions/{id}/retry',
    summary: 'Run the job again for the VMs that failed in this session; answers with the new session',
    permission: 'jobs.run',
    response: runStartedDto.extend({ vms: z.number().int() }),
    status: 202,
  },
  { method: 'get', path: '/repositories', summary: 'Backup repositories with their limits, points and last health check', permission: 'read' },
  {
    method: 'post',
    path: '/repositories',
    summary: 'Add a repository (a folder on the backup server)',
    permission: 'infrastructure.edit',
    body: repositoryBody,
    status: 201,
  },
  {
    method: 'patch',
    path: '/repositories/{id}',
    summary: 'Change limits or the health-check period; 409 when `version` is stale',
    permission: 'infrastructure.edit',
    body: updateRepositoryBody,
  },
  {
    method: 'delete',
    path: '/repositories/{id}',
    summary: 'Remove a repository no job uses and that holds no point (Administrator)',
    permission: 'delete',
    status: 204,
  },
  {
    method: 'post',
    path: '/restores',
    summary:
      'Start a restore (entire VM, new or in place; virtual disks; instant recovery): its session exists when this answers. A refusal names its field in `details.field`: 400 bad input, 404 an unknown point, pool, connection, host or VM, 409 a name taken, too little free space, the repository offline. Audited, refusals too',
    permission: 'restore',
    body: restoreRequestBody,
    response: runStartedDto,
    status: 202,
  },
  {
    method: 'get',
    path: '/restores',
    summary: 'Restore sessions, newest first, each with its request (paginated)',
    permission: 'read',
    response: list(restoreSessionDto),
  },
  {
    method: 'get',
    path: '/restores/{id}',
    summary: 'One restore session: tasks, figures, its request, and the instant recovery it made',
    permission: 'read',
    response: restoreSessionDto.extend({ instantRecovery: instantRecoveryDto.nullable() }),
  },
  {
    method: 'get',
    path: '/restore-catalog',
    summary: 'VMs that have restore points, found by name (?q=), including VMs no longer in the inventory',
    permission: 'read',
    response: list(catalogVmDto),
  },
  {
    method: 'get',
    path: '/restore-catalog/points',
    summary: "One VM's restore points, newest first (?vmId= for a VM of the inventory, ?vmName= for one whose row is gone)",
    permission: 'read',
    response: list(catalogPointDto),
  },
  {
    method: 'get',
    path: '/connections/{id}/pools',
    summary: "The connection's storage pools as its last rescan saw them",
    permission: 'read',
    response: list(storagePoolDto),
  },
  {
    method: 'get',
    path: '/instant-recoveries',
    summary: 'Instant recoveries that may hold a VM, overlay or export, newest first (?all=1: every one)',
    permission: 'read',
    response: list(instantRecoveryDto),
  },
  {
    method: 'post',
    path: '/instant-recoveries/{id}/migrate',
    summary: 'Migrate to production: copy the running VM into a storage pool, then end the export; 404 unknown recovery or pool, 409 unless running',
    permission: 'restore',
    body: instantMigrateBody,
    response: accepted,
    status: 202,
  },
  {
    method: 'post',
    path: '/instant-recoveries/{id}/stop',
    summary: 'Stop publishing: remove the recovered VM, its overlays and the export; 409 unless running or broken',
    permission: 'restore',
    response: accepted,
    status: 202,
  },
  {
    method: 'post',
    path: '/restore-points/{id}/mounts',
    summary:
      "Open the point's guest file systems for browsing by the caller: the mount is `starting` until its mover has the appliance up (poll `GET /mounts/{id}`); 404 unknown point, 409 the point or its repository cannot be read now, 503 no mover can serve it. Audited",
    permission: 'restore',
    response: z.object({ mount: mountDto }),
    status: 201,
  },
  {
    method: 'get',
    path: '/mounts',
    summary: "The caller's own guest-file mounts, newest first: those not ended (?all=1: every one)",
    permission: 'restore',
    response: list(mountDto),
  },
  {
    method: 'get',
    path: '/mounts/{id}',
    summary: "One of the caller's mounts: state, file systems once ready, the error when it failed; another user's mount is 404",
    permission: 'restore',
    response: z.object({ mount: mountDto }),
  },
  {
    method: 'delete',
    path: '/mounts/{id}',
    summary: 'End browsing: the mover closes the appliance and the export; 409 when it is ending or ended. Audited',
    permission: 'restore',
    response: accepted,
    status: 202,
  },
  {
    method: 'get',
    path: '/mounts/{id}/files',
    summary:
      'One folder of a ready mount: at `/` its file systems (key, device, type, label, size), below them files and folders (dirs first) with size, mtime, uid, gid, st_mode; 400 a bad path (names `path`), 409 the mount not ready, 503 its mover unreachable',
    permission: 'restore',
    response: listingDto,
    query: [guestPathParam('The folder; `/` (the default) lists the file systems')],
  },
  {
    method: 'get',
    path: '/mounts/{id}/download',
    summary:
      'Download from a ready mount, streamed: one file as it is (application/octet-stream), several paths or a folder as one archive in `format`; 400 a bad path or format, or several paths without a format; 409 not ready. Audited with the paths',
    permission: 'restore',
    query: [
      { ...guestPathParam('A file or folder; repeat for several'), required: true },
      { name: 'format', description: 'The archive of several paths or a folder', schema: { type: 'string', enum: [...DOWNLOAD_FORMATS] } },
    ],
  },
  {
    method: 'post',
    path: '/mounts/{id}/restore',
    summary:
      'Restore to the VM: files and folders of a ready mount written into the running original VM through qemu-guest-agent, `overwrite` (each file replaced whole, by rename) or `keep-both` (the restored copy gets a `.restored-<UTC time>` suffix); owner, mode and time kept where the guest allows. A restore session (202, its id) with progress and a log line per file; 400 a bad path (names `paths`), 409 the mount not ready or the VM gone; the session fails with the reason when the VM is off, has no agent, or does not mount the file system. Audited with the paths',
    permission: 'restore',
    body: fileRestoreBody,
    response: runStartedDto,
    status: 202,
  },
  {
    method: 'get',
    path: '/mounts/{id}/versions',
    summary:
      "Versions of one file of the caller's mount: the indexed points of its VM that hold the same path, newest first, with size and time in each (`current` marks the mount's point), and how many of the VM's points are not indexed; 400 a bad path",
    permission: 'restore',
    response: versionsDto,
    query: [{ ...guestPathParam('A file inside a file system'), required: true }],
  },
  {
    method: 'get',
    path: '/guest-files',
    summary:
      'Guest file search over the indexed points (job option "Index guest files"): a name as a substring, or a pattern of the whole name with * and ?, case ignored; optionally one VM and a range of point times; newest point first. Each hit names its point and its file-browser path (open a mount of the point, then browse or download it)',
    permission: 'restore',
    response: z.object({ data: z.array(guestFileHitDto), limit: z.number().int() }),
    query: [
      { name: 'q', required: true, description: 'A name (substring) or a pattern with * and ?', schema: { type: 'string' } },
      { name: 'vmId', description: 'Only points of this VM', schema: { type: 'string', format: 'uuid' } },
      { name: 'from', description: 'Points at or after (ISO 8601)', schema: { type: 'string', format: 'date-time' } },
      { name: 'to', description: 'Points at or before (ISO 8601)', schema: { type: 'string', format: 'date-time' } },
      { name: 'limit', description: 'At most this many hits (1–500, default 100)', schema: { type: 'integer' } },
    ],
  },
  { method: 'get', path: '/restore-points', summary: 'The restore-point catalog, newest first (?vmId=, ?jobId=, ?repositoryId=)', permission: 'read' },
  { method: 'get', path: '/settings/processing', summary: 'Parallel or sequential processing', permission: 'read' },
  {
    method: 'put',
    path: '/settings/processing',
    summary: 'Set parallel or sequential processing; 409 when `version` is stale',
    permission: 'settings.edit',
    body: processingBody,
  },
  { method: 'get', path: '/settings/smtp', summary: 'SMTP settings for notifications (the password is never shown)', permission: 'settings.edit' },
  {
    method: 'put',
    path: '/settings/smtp',
    summary: 'Save SMTP settings; leave out `password` to keep it; 409 when `version` is stale',
    permission: 'settings.edit',
    body: smtpBody,
  },
  { method: 'post', path: '/settings/smtp/test', summary: 'Send a test email with the saved settings', permission: 'settings.edit', body: testMailBody },
];

function parametersOf(op: Operation) {
  return [
    ...(op.path.includes('{id}') ? [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }] : []),
    ...(op.query ?? []).map((q) => ({ name: q.name, in: 'query', required: q.required ?? false, description: q.description, schema: q.schema })),
  ];
}

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = { content: { 'application/json': { schema: z.toJSONSchema(errorDto) } } };
  for (const op of OPERATIONS) {
    const ok = String(op.status ?? 200);
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      description: op.permission === 'public' ? 'No authentication.' : `Requires permission \`${op.permission}\`.`,
      ...(op.permission === 'public' ? { security: [] } : {}),
      ...(op.path.includes('{id}') || op.query ? { parameters: parametersOf(op) } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(op.body) } } } } : {}),
      responses: {
        [ok]: op.response ? { description: 'OK', content: { 'application/json': { schema: z.toJSONSchema(op.response) } } } : { description: 'OK' },
        ...(op.permission === 'public' ? {} : { 401: { description: 'Not authenticated', ...error }, 403: { description: 'Role may not', ...error } }),
        ...(op.body ? { 400: { description: 'Invalid input; details.fields names each field', ...error } } : {}),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Strongbox API', version: '1' },
    servers: [{ url: '/api/v1' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token from Settings → API tokens' },
        session: { type: 'apiKey', in: 'cookie', name: 'next-auth.session-token' },
      },
    },
    security: [{ bearer: [] }, { session: [] }],
    paths,
  };
}
