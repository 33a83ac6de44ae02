import { NextResponse } from 'next/server';
import { apiRoute } from '@/server/api';
import { instantAction } from '@/server/restores-service';
import { pathId } from '@/server/schemas';

/** Stop publishing: the recovered VM, its overlays and the export are removed; 409 unless it is running or broken. */
export const POST = apiRoute<undefined, { id: string }>({ permission: 'restore' }, async ({ params, actor, audit }) => {
  await instantAction(pathId(params.id, 'instant recovery'), 'stop', actor, audit);
  return NextResponse.json({ accepted: true }, { status: 202 });
});
