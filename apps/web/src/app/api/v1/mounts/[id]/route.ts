import { NextResponse } from 'next/server';
import { apiRoute } from '@/server/api';
import { endMount, ownMount, toMountDto } from '@/server/guest-files-service';

/** One of the caller's mounts: its state, its file systems once ready, why it failed. Another user's is 404. */
export const GET = apiRoute<undefined, { id: string }>({ permission: 'restore' }, async ({ params, actor }) => ({
  mount: toMountDto(await ownMount(params.id, actor)),
}));

/** Ends browsing: the mover closes the appliance and the export (202); 409 when it is ending or ended already. Audited. */
export const DELETE = apiRoute<undefined, { id: string }>({ permission: 'restore' }, async ({ params, actor, audit }) => {
  await endMount(params.id, actor, audit);
  return NextResponse.json({ accepted: true }, { status: 202 });
});
