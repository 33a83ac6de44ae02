import { NextResponse } from 'next/server';
import { apiRoute } from '@/server/api';
import { instantMigrateBody } from '@/server/restore-schemas';
import { instantAction } from '@/server/restores-service';
import { pathId } from '@/server/schemas';

/** Migrate to production: the running VM's disks are copied into `pool` (live), then the export ends; 409 unless it is running. */
export const POST = apiRoute<typeof instantMigrateBody, { id: string }>(
  { permission: 'restore', body: instantMigrateBody },
  async ({ params, body, actor, audit }) => {
    await instantAction(pathId(params.id, 'instant recovery'), 'migrate', actor, audit, body);
    return NextResponse.json({ accepted: true }, { status: 202 });
  },
);
