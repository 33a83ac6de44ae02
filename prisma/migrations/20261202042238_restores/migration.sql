-- Restores (issue 11): a restore session keeps its request and the VM it writes to, pools of
-- each connection as rescans find them, instant recoveries, and a VM whose in-place restore failed.

-- AlterTable
ALTER TABLE "Vm" ADD COLUMN     "restoreFailure" TEXT;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "request" JSONB,
ADD COLUMN     "targetVmId" UUID;

-- AlterTable
ALTER TABLE "Task" ADD COLUMN     "waitingFor" TEXT;

-- CreateTable
CREATE TABLE "StoragePool" (
    "id" UUID NOT NULL,
    "connectionId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "capacityBytes" BIGINT,
    "availableBytes" BIGINT,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StoragePool_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InstantRecovery" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "moverId" UUID,
    "connectionId" UUID NOT NULL,
    "pointId" UUID,
    "vmName" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "error" TEXT,
    "scratchDir" TEXT,
    "disks" JSONB NOT NULL DEFAULT '[]',
    "bytesServed" BIGINT NOT NULL DEFAULT 0,
    "overlayBytes" BIGINT NOT NULL DEFAULT 0,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "runningAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "InstantRecovery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "StoragePool_connectionId_name_key" ON "StoragePool"("connectionId", "name");

-- CreateIndex
CREATE INDEX "InstantRecovery_state_idx" ON "InstantRecovery"("state");

-- AddForeignKey
ALTER TABLE "StoragePool" ADD CONSTRAINT "StoragePool_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "HypervisorConnection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InstantRecovery" ADD CONSTRAINT "InstantRecovery_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_targetVmId_fkey" FOREIGN KEY ("targetVmId") REFERENCES "Vm"("id") ON DELETE SET NULL ON UPDATE CASCADE;
