import type { Metadata } from 'next';
import { EmptyArea } from '@/components/area-page';

export const metadata: Metadata = { title: 'Infrastructure' };

export default function InfrastructurePage() {
  return <EmptyArea title="Infrastructure" what="Hypervisor connections, movers (proxies) and backup repositories." />;
}
