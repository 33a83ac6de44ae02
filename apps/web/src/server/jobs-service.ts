import type { JobSpec } from '@strongbox/core';
import { AppError, BackupJobs, prisma, specOf, type Db, type JobRow } from '@strongbox/db';

type FieldIssue = { field: string; message: string };

/**
 * What the schema cannot know: the connection, repository, VMs, hosts and the job to run
 * after all exist, and every object is on the job's connection.
 */
export async function referenceIssues(db: Db, spec: JobSpec, selfId?: string): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const [connection, repository] = await Promise.all([
    db.hypervisorConnection.findUnique({ where: { id: spec.connectionId }, select: { id: true } }),
    db.backupRepository.findUnique({ where: { id: spec.repositoryId }, select: { id: true } }),
  ]);
  if (!connection) issues.push({ field: 'connectionId', message: 'no such hypervisor connection' });
  if (!repository) issues.push({ field: 'repositoryId', message: 'no such repository' });
  const vmIds = spec.objects.flatMap((o) => (o.type === 'vm' ? [o.vmId] : []));
  const hostIds = spec.objects.flatMap((o) => (o.type === 'host' ? [o.hostId] : []));
  const [vms, hosts] = await Promise.all([
    db.vm.findMany({ where: { id: { in: vmIds } }, select: { id: true, connectionId: true } }),
    db.host.findMany({ where: { id: { in: hostIds } }, select: { id: true, connectionId: true } }),
  ]);
  const vmConnection = new Map(vms.map((v) => [v.id, v.connectionId]));
  const hostConnection = new Map(hosts.map((h) => [h.id, h.connectionId]));
  spec.objects.forEach((object, i) => {
    if (object.type === 'pattern') return;
    const [field, id, known] = object.type === 'vm' ? [`objects.${i}.vmId`, object.vmId, vmConnection] : [`objects.${i}.hostId`, object.hostId, hostConnection];
    const owner = known.get(id);
    if (owner === undefined) issues.push({ field, message: `no such ${object.type === 'vm' ? 'VM' : 'host'}` });
    else if (owner !== spec.connectionId) issues.push({ field, message: `the ${object.type === 'vm' ? 'VM' : 'host'} is on another connection than the job` });
  });
  if (spec.schedule.kind === 'after') {
    if (spec.schedule.jobId === selfId) issues.push({ field: 'schedule.jobId', message: 'a job cannot run after itself' });
    else if (!(await db.backupJob.count({ where: { id: spec.schedule.jobId } }))) issues.push({ field: 'schedule.jobId', message: 'no such job' });
  }
  return issues;
}

async function assertReferences(db: Db, spec: JobSpec, selfId?: string) {
  const issues = await referenceIssues(db, spec, selfId);
  if (issues.length) throw new AppError('BAD_REQUEST', issues.map((i) => `${i.field}: ${i.message}`).join('; '), { fields: issues });
}

export async function createJob(spec: JobSpec, userId: string): Promise<JobRow> {
  const db = prisma();
  await assertReferences(db, spec);
  return new BackupJobs(db).create(spec, userId);
}

export async function updateJob(id: string, version: number, spec: JobSpec): Promise<JobRow> {
  const db = prisma();
  if (!(await new BackupJobs(db).byId(id))) throw new AppError('NOT_FOUND', 'no such job');
  await assertReferences(db, spec, id);
  return new BackupJobs(db).update(id, version, spec);
}

/** A copy named "<name> (copy)", "(copy 2)"…, disabled so that it does not run twice the work. */
export async function cloneJob(id: string, userId: string): Promise<JobRow> {
  const jobs = new BackupJobs(prisma());
  const source = await jobs.byId(id);
  if (!source) throw new AppError('NOT_FOUND', 'no such job');
  const spec = specOf(source);
  for (let n = 1; n < 100; n++) {
    const name = `${spec.name} (copy${n > 1 ? ` ${n}` : ''})`.slice(0, 100);
    if (!(await prisma().backupJob.count({ where: { name } }))) return jobs.create({ ...spec, name, enabled: false }, userId);
  }
  throw new AppError('CONFLICT', 'too many copies of this job');
}

export function toJobDto(row: JobRow) {
  return {
    id: row.id,
    ...specOf(row),
    nextRunAt: row.nextRunAt?.toISOString() ?? null,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export type JobDto = ReturnType<typeof toJobDto>;
