import { PROCESSING_SETTING_KEY as KEY, prisma, processingSettingSchema, Settings } from '@strongbox/db';
import { apiRoute } from '@/server/api';
import { processingBody } from '@/server/schemas';

/** Parallel (default) or sequential processing: one disk at a time per job run. */
export const GET = apiRoute({ permission: 'read' }, async () => {
  const row = await new Settings(prisma()).get(KEY, processingSettingSchema);
  return { mode: row?.value.mode ?? 'parallel', version: row?.version ?? 0 };
});

export const PUT = apiRoute({ permission: 'settings.edit', body: processingBody }, async ({ body, audit }) => {
  const version = await new Settings(prisma()).save(KEY, { mode: body.mode }, body.version);
  await audit('settings.processing', 'setting', KEY, { mode: body.mode });
  return { mode: body.mode, version };
});
