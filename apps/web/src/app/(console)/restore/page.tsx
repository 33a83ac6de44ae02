import type { Metadata } from 'next';
import { EmptyArea } from '@/components/area-page';

export const metadata: Metadata = { title: 'Restore' };

export default function RestorePage() {
  return <EmptyArea title="Restore" what="Restore whole VMs, disks or single files from any restore point." />;
}
