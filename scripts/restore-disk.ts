/**
 * pnpm restore:disk --repo <path> --point <id> --disk <name> --out <file> [--md5]
 *
 * A developer command: one disk of a restore point to a raw file (sparse) through the
 * restore path; with --md5 it prints the restored bytes' MD5 and removes the file.
 */
import { messageOf } from '@strongbox/core';
import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { restoreDisk } from '../packages/pipeline/src/index.js';
import { Repository } from '../packages/repository/src/index.js';

const { values } = parseArgs({
  options: { repo: { type: 'string' }, point: { type: 'string' }, disk: { type: 'string' }, out: { type: 'string' }, md5: { type: 'boolean', default: false } },
});

async function main(): Promise<void> {
  if (!values.repo || !values.point || !values.disk || !values.out)
    throw new Error('usage: pnpm restore:disk --repo <path> --point <id> --disk <name> --out <file> [--md5]');
  const repo = await Repository.open(values.repo);
  const reader = await repo.openPoint(values.point);
  try {
    const { bytes } = await restoreDisk(reader, values.disk, values.out);
    if (!values.md5) return console.log(`${values.disk}: ${bytes} bytes → ${values.out}`);
    const hash = createHash('md5');
    for await (const chunk of createReadStream(values.out)) hash.update(chunk as Buffer);
    rmSync(values.out);
    console.log(hash.digest('hex'));
  } finally {
    await reader.close();
  }
}

main().catch((e: unknown) => {
  console.error(`restore:disk: ${messageOf(e)}`);
  process.exit(1);
});
