import type { UserRow } from '@strongbox/db';
import type { MoverDto, TokenDto, UserDto } from './schemas';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: row.disabled,
    lastLoginAt: iso(row.lastLoginAt),
    createdAt: row.createdAt.toISOString(),
    version: row.version,
  };
}

export function toTokenDto(row: {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}): TokenDto {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: iso(row.lastUsedAt),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
  };
}

export function toMoverDto(row: {
  id: string;
  name: string;
  hostName: string;
  site: string;
  cores: number;
  maxConcurrentTasks: number;
  enabled: boolean;
  online: boolean;
  softwareVersion: string;
  lastHeartbeatAt: Date;
  version: number;
}): MoverDto {
  return {
    id: row.id,
    name: row.name,
    hostName: row.hostName,
    site: row.site,
    cores: row.cores,
    maxConcurrentTasks: row.maxConcurrentTasks,
    enabled: row.enabled,
    online: row.online,
    softwareVersion: row.softwareVersion,
    lastHeartbeatAt: row.lastHeartbeatAt.toISOString(),
    version: row.version,
  };
}

type ConnectionRow = {
  id: string;
  name: string;
  kind: string;
  uri: string;
  sshKeyPath: string | null;
  lastRescanAt: Date | null;
  lastError: string | null;
  version: number;
  createdAt: Date;
  _count: { vms: number; hosts: number };
};

export function toConnectionDto(row: ConnectionRow) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    uri: row.uri,
    sshKeyPath: row.sshKeyPath,
    lastRescanAt: iso(row.lastRescanAt),
    lastError: row.lastError,
    hosts: row._count.hosts,
    vms: row._count.vms,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
  };
}
export type ConnectionDto = ReturnType<typeof toConnectionDto>;

export function toVmDto(row: {
  id: string;
  name: string;
  powerState: string;
  removed: boolean;
  problem: string | null;
  restoreFailure?: string | null;
  lastSeenAt: Date;
  connectionId: string;
  host: { id: string; name: string } | null;
  disks: { name: string; format: string | null; sizeBytes: bigint }[];
}) {
  return {
    id: row.id,
    name: row.name,
    powerState: row.powerState,
    removed: row.removed,
    problem: row.problem,
    restoreFailure: row.restoreFailure ?? null,
    lastSeenAt: row.lastSeenAt.toISOString(),
    connectionId: row.connectionId,
    host: row.host,
    disks: row.disks.map((d) => ({ name: d.name, format: d.format, sizeBytes: Number(d.sizeBytes) })),
  };
}
export type VmDto = ReturnType<typeof toVmDto>;

const MiB = 1024 * 1024;

export function toRepositoryDto(
  row: {
    id: string;
    name: string;
    kind: string;
    path: string;
    maxConcurrentTasks: number;
    readRateLimit: bigint | null;
    writeRateLimit: bigint | null;
    isDefault: boolean;
    verifyEveryDays: number;
    lastVerifiedAt: Date | null;
    lastVerifyResult: unknown;
    version: number;
  },
  usage?: { points: number; storedBytes: number },
) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    path: row.path,
    maxConcurrentTasks: row.maxConcurrentTasks,
    readRateLimitMiBs: row.readRateLimit === null ? null : Number(row.readRateLimit) / MiB,
    writeRateLimitMiBs: row.writeRateLimit === null ? null : Number(row.writeRateLimit) / MiB,
    isDefault: row.isDefault,
    verifyEveryDays: row.verifyEveryDays,
    lastVerifiedAt: iso(row.lastVerifiedAt),
    lastVerifyResult: row.lastVerifyResult ?? null,
    points: usage?.points ?? 0,
    storedBytes: usage?.storedBytes ?? 0,
    version: row.version,
  };
}
