-- AlterTable
ALTER TABLE "BackupJob" ADD COLUMN     "connectionId" UUID NOT NULL,
ADD COLUMN     "nextRunAt" TIMESTAMP(3),
ADD COLUMN     "timeZone" TEXT NOT NULL DEFAULT 'UTC';

-- AddForeignKey
ALTER TABLE "BackupJob" ADD CONSTRAINT "BackupJob_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "HypervisorConnection"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
