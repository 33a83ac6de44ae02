'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

export const AREAS = [
  { href: '/', label: 'Home' },
  { href: '/inventory', label: 'Inventory' },
  { href: '/jobs', label: 'Jobs' },
  { href: '/sessions', label: 'Sessions' },
  { href: '/backups', label: 'Backups' },
  { href: '/restore', label: 'Restore' },
  // A part of Restore with a page of its own: shown under it, indented.
  { href: '/restore/files', label: 'Guest files', sub: true },
  { href: '/restore/search', label: 'Search guest files', sub: true },
  { href: '/infrastructure', label: 'Infrastructure' },
  { href: '/settings', label: 'Settings' },
] as const;

/** The area a path is in: the longest href it is at or under, so that `/restore/files` lights Guest files, not Restore too. */
function activeArea(path: string): string | undefined {
  const under = AREAS.filter((a) => (a.href === '/' ? path === '/' : path === a.href || path.startsWith(`${a.href}/`)));
  return under.sort((a, b) => b.href.length - a.href.length)[0]?.href;
}

export function Nav() {
  const path = usePathname();
  const current = activeArea(path);
  return (
    <nav aria-label="Main" className="flex flex-col gap-1">
      {AREAS.map((area) => {
        const active = area.href === current;
        return (
          <Link
            key={area.href}
            href={area.href}
            aria-current={active ? 'page' : undefined}
            className={`rounded py-2 text-sm ${'sub' in area ? 'pr-3 pl-6' : 'px-3'} ${active ? 'bg-sky-700 text-white' : 'text-slate-300 hover:bg-slate-800'}`}
          >
            {area.label}
          </Link>
        );
      })}
    </nav>
  );
}
