import type { Metadata } from 'next';
import { PageHeader } from '@/components/area-page';
import { TokensPanel } from './tokens-panel';

export const metadata: Metadata = { title: 'API tokens' };

export default function TokensPage() {
  return (
    <>
      <PageHeader title="API tokens and logins" />
      <TokensPanel />
    </>
  );
}
