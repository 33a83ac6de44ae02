/**
 * The bench's data chores in a child process, so that the generator's buffers never count
 * in the peak RSS the bench reports for Strongbox (run.ts runs it in its own process):
 *
 *   prepare.ts image <benchDir> <size> <seed>   → {"path","sha256","generatedSeconds"}
 *   prepare.ts rewrite <image> <size> <seed>    → {"sha256","size"} after the rewrite
 *   prepare.ts hash <file>                      → {"sha256","size"}
 *   prepare.ts hash-image <image> <qcow2|raw>   → {"sha256","size"} of what the image reads as
 *
 * Progress goes to stderr, the answer is one JSON line on stdout.
 */
import { applyRewrite, ensureImage, hashFile, hashImage } from './image.js';
import { imageSpec, planRewrite } from './layout.js';

async function main(): Promise<unknown> {
  const [command, ...args] = process.argv.slice(2);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (command === 'image' && args.length === 3) {
    const [dir, size, seed] = args as [string, string, string];
    const { path, sha256, generatedSeconds } = await ensureImage(dir, imageSpec(Number(size), seed), log);
    return { path, sha256, generatedSeconds };
  }
  if (command === 'rewrite' && args.length === 3) {
    const [path, size, seed] = args as [string, string, string];
    await applyRewrite(path, planRewrite(Number(size), seed), seed);
    return hashFile(path);
  }
  if (command === 'hash' && args.length === 1) return hashFile(args[0]!);
  if (command === 'hash-image' && args.length === 2 && (args[1] === 'qcow2' || args[1] === 'raw')) return hashImage(args[0]!, args[1]);
  throw new Error('usage: prepare.ts image <dir> <size> <seed> | rewrite <image> <size> <seed> | hash <file> | hash-image <image> <qcow2|raw>');
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (e: Error) => {
    process.stderr.write(`bench prepare: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
