import type { Metadata } from 'next';
import { EmptyArea } from '@/components/area-page';

export const metadata: Metadata = { title: 'Inventory' };

export default function InventoryPage() {
  return <EmptyArea title="Inventory" what="Hypervisor hosts and their virtual machines appear here once a connection is added." />;
}
