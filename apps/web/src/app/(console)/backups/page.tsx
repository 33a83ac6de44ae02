import type { Metadata } from 'next';
import { EmptyArea } from '@/components/area-page';

export const metadata: Metadata = { title: 'Backups' };

export default function BackupsPage() {
  return <EmptyArea title="Backups" what="Restore points, grouped by job and virtual machine." />;
}
