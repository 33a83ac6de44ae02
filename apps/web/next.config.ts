import type { NextConfig } from 'next';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

const config: NextConfig = {
  // Workspace packages ship TypeScript source.
  transpilePackages: ['@strongbox/core', '@strongbox/config', '@strongbox/db', '@strongbox/guestfs', '@strongbox/notifications', '@strongbox/queue'],
  // Native addons and the database driver load at run time, unbundled (they are direct
  // dependencies here too, which Next needs to externalize them from workspace packages).
  serverExternalPackages: ['@node-rs/argon2', 'pg', '@prisma/adapter-pg', '@prisma/client', 'bullmq'],
  // Webpack, not Turbopack: workspace packages import their TypeScript siblings with
  // NodeNext-style `.js` specifiers (as do Prisma's generated client and tsx/vitest),
  // which Turbopack does not map to `.ts` (vercel/next.js#82945); webpack does.
  webpack(config: { resolve: { extensionAlias?: Record<string, string[]> } }) {
    config.resolve.extensionAlias = { '.js': ['.ts', '.tsx', '.js'], '.mjs': ['.mts', '.mjs'] };
    return config;
  },
  outputFileTracingRoot: root,
  experimental: {
    // forbidden(): a real 403 for pages a role may not see.
    authInterrupts: true,
  },
  poweredByHeader: false,
};

export default config;
