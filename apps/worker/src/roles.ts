export const WORKER_ROLES = ['controller', 'mover'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** `--role controller,mover` (also `--role=...`); both roles when none is given. */
export function parseRoles(argv: string[]): Set<WorkerRole> {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--role') value = argv[++i];
    else if (arg.startsWith('--role=')) value = arg.slice('--role='.length);
    else throw new Error(`unknown argument ${arg}; usage: worker [--role controller,mover]`);
  }
  if (value === undefined) return new Set(WORKER_ROLES);
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  if (roles.length === 0) throw new Error('--role needs at least one of controller, mover');
  for (const role of roles) {
    if (!(WORKER_ROLES as readonly string[]).includes(role)) {
      throw new Error(`unknown role "${role}"; roles are controller, mover`);
    }
  }
  return new Set(roles as WorkerRole[]);
}
