-- AlterTable
ALTER TABLE "Repository" ADD COLUMN     "lastVerifiedAt" TIMESTAMP(3),
ADD COLUMN     "lastVerifyResult" JSONB,
ADD COLUMN     "verifyEveryDays" INTEGER NOT NULL DEFAULT 7;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "notifiedAt" TIMESTAMP(3),
ADD COLUMN     "stopRequested" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "warnings" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Task" ADD COLUMN     "excludedMoverIds" UUID[] DEFAULT ARRAY[]::UUID[],
ADD COLUMN     "lastProgressAt" TIMESTAMP(3),
ADD COLUMN     "notBefore" TIMESTAMP(3),
ADD COLUMN     "progress" JSONB,
ADD COLUMN     "readMode" TEXT;
