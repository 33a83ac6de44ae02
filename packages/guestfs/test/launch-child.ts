/**
 * A process that launches an appliance and then hangs, for the test that SIGKILLs it and
 * leaves the janitor (`killAppliance`) to end what it left. argv: <image> <workDir>.
 */
import { GuestfsAppliance } from '../src/index.js';

const [image, workDir] = process.argv.slice(2);
if (!image || !workDir) throw new Error('usage: launch-child.ts <image> <workDir>');
const appliance = await GuestfsAppliance.launch({ drives: [{ uri: image, format: 'raw' }], workDir });
process.stdout.write(`PID ${appliance.pid}\n`);
setInterval(() => undefined, 60_000);
