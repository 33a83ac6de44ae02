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
  { href: '/infrastructure', label: 'Infrastructure' },
  { href: '/settings', label: 'Settings' },
] as const;

export function Nav() {
  const path = usePathname();
  return (
    <nav aria-label="Main" className="flex flex-col gap-1">
      {AREAS.map((area) => {
        const active = area.href === '/' ? path === '/' : path.startsWith(area.href);
        return (
          <Link
            key={area.href}
            href={area.href}
            aria-current={active ? 'page' : undefined}
            className={`rounded px-3 py-2 text-sm ${active ? 'bg-sky-700 text-white' : 'text-slate-300 hover:bg-slate-800'}`}
          >
            {area.label}
          </Link>
        );
      })}
    </nav>
  );
}
