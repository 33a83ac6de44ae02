import { NextResponse } from 'next/server';
import { apiRoute } from '@/server/api';
import { ownMount } from '@/server/guest-files-service';
import { fileRestoreBody } from '@/server/mount-schemas';
import { restoreFromMount } from '@/server/restores-service';

/**
 * Restore to the VM: files and folders of one of the caller's file browsers written back into
 * the running original VM through its guest agent — overwriting its files, or keeping both.
 * A restore session (202 with its id); the paths are checked before it starts. Audited with the paths.
 */
export const POST = apiRoute<typeof fileRestoreBody, { id: string }>(
  { permission: 'restore', body: fileRestoreBody },
  async ({ params, body, actor, audit }) => {
    const mount = await ownMount(params.id, actor);
    const { sessionId } = await restoreFromMount(mount, body, actor, audit);
    return NextResponse.json({ sessionId }, { status: 202 });
  },
);
