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
