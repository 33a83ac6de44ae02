import type { Metadata } from 'next';
import { EmptyArea } from '@/components/area-page';

export const metadata: Metadata = { title: 'Sessions' };

export default function SessionsPage() {
  return <EmptyArea title="Sessions" what="Every run of a job, restore or health check, live and past." />;
}
