import type { Metadata } from 'next';
import { EmptyArea } from '@/components/area-page';

export const metadata: Metadata = { title: 'Jobs' };

export default function JobsPage() {
  return <EmptyArea title="Jobs" what="Backup jobs: what to back up, where, when and how long to keep it." />;
}
