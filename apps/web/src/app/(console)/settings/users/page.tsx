import type { Metadata } from 'next';
import { forbidden, redirect } from 'next/navigation';
import { can } from '@strongbox/core';
import { prisma, Users } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { toUserDto } from '@/server/dto';
import { UsersTable } from './users-table';

export const metadata: Metadata = { title: 'Users' };

export default async function UsersPage() {
  const user = await currentUser();
  if (!user) redirect('/login');
  if (!can(user.role, 'users.manage')) forbidden();
  const users = (await new Users(prisma()).list()).map(toUserDto);
  return (
    <>
      <PageHeader title="Users" />
      <UsersTable initial={users} currentUserId={user.userId} />
    </>
  );
}
