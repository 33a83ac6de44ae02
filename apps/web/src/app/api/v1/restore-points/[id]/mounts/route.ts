import { NextResponse } from 'next/server';
import { apiRoute } from '@/server/api';
import { startMount } from '@/server/guest-files-service';

/**
 * Opens the point's guest file systems for browsing by the caller: 201 with the mount, in
 * `starting` until its mover has the appliance up (poll `GET /mounts/{id}`). Audited.
 */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'restore' }, async ({ params, actor, audit }) => {
  const mount = await startMount(params.id, actor, audit);
  return NextResponse.json({ mount }, { status: 201 });
});
