// Runs before anything is installed: plain Node, no dependencies. Gets pnpm (the version
// pinned in package.json) through corepack, installs the workspace, then hands over to the
// TypeScript launcher.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function pinnedPnpm() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const match = /^pnpm@(\d+\.\d+\.\d+)/.exec(pkg.packageManager ?? '');
  if (!match) throw new Error('package.json packageManager must pin pnpm@x.y.z');
  return match[1];
}

function works(command, args, env) {
  const r = spawnSync(command, [...args, '--version'], { cwd: root, env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** A way to run the pinned pnpm: corepack first, then a private npm install of it. */
export function ensurePnpm() {
  const version = pinnedPnpm();
  const env = { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: '0' };
  if (works('corepack', ['pnpm'], env) === version) return { command: 'corepack', prefix: ['pnpm'], env };
  // Some registry mirrors serve pnpm without the signatures corepack's bundled keys
  // expect ("No compatible signature found"); npm's own integrity check (sha512 of the
  // tarball) still applies to what corepack fetches.
  const unsigned = { ...env, COREPACK_INTEGRITY_KEYS: '0' };
  if (works('corepack', ['pnpm'], unsigned) === version) {
    console.log('strongbox: corepack could not verify pnpm signatures from this registry; using its integrity check only');
    return { command: 'corepack', prefix: ['pnpm'], env: unsigned };
  }
  const tools = join(root, '.data', 'tools');
  const bin = join(tools, 'node_modules', '.bin', 'pnpm');
  if (!existsSync(bin) || works(bin, [], env) !== version) {
    console.log(`strongbox: corepack is unavailable; installing pnpm ${version} into .data/tools with npm`);
    mkdirSync(tools, { recursive: true });
    const r = spawnSync('npm', ['install', '--no-save', '--prefix', tools, `pnpm@${version}`], { stdio: 'inherit' });
    if (r.status !== 0) {
      throw new Error(`could not get pnpm ${version}: install Node.js 20 with corepack or npm, then retry`);
    }
  }
  return { command: bin, prefix: [], env };
}

export function pnpmSync(pnpm, args, options = {}) {
  return spawnSync(pnpm.command, [...pnpm.prefix, ...args], {
    cwd: root,
    env: { ...pnpm.env, ...options.env },
    stdio: 'inherit',
  });
}

export function installDependencies(pnpm) {
  console.log('strongbox: installing dependencies (pnpm install)');
  const args = ['install', '--reporter=append-only'];
  if (existsSync(join(root, 'pnpm-lock.yaml'))) args.push('--frozen-lockfile');
  const r = pnpmSync(pnpm, args);
  if (r.status !== 0) throw new Error('pnpm install failed (see above)');
}

/**
 * Runs a TypeScript launcher with tsx. Ctrl-C reaches the launcher, which stops what it
 * started in order; this process only waits for it and passes its exit code on.
 */
export function runLauncher(file, args, env = {}) {
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const child = spawn(process.execPath, [tsx, join(root, 'scripts', 'launcher', file), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      // The terminal already sent SIGINT to the launcher (same process group); forward
      // other signals, e.g. a service manager's SIGTERM.
      if (signal !== 'SIGINT') child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

export function main(file) {
  try {
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 20) throw new Error(`Node.js 20 or newer is needed (this is ${process.version})`);
    const pnpm = ensurePnpm();
    installDependencies(pnpm);
    runLauncher(file, process.argv.slice(2));
  } catch (error) {
    console.error(`strongbox: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
