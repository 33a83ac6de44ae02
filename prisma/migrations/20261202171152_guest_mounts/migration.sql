-- AlterTable
ALTER TABLE "Mover" ADD COLUMN     "fileServiceUrl" TEXT;

-- CreateTable
CREATE TABLE "GuestMount" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "ownerId" UUID NOT NULL,
    "pointId" UUID,
    "vmId" UUID,
    "vmName" TEXT NOT NULL,
    "pointTime" TIMESTAMP(3) NOT NULL,
    "moverId" UUID,
    "state" TEXT NOT NULL,
    "error" TEXT,
    "endReason" TEXT,
    "scratchDir" TEXT,
    "filesystems" JSONB NOT NULL DEFAULT '[]',
    "token" TEXT NOT NULL,
    "idleTimeoutMs" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "readyAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" TIMESTAMP(3),

    CONSTRAINT "GuestMount_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "GuestMount_ownerId_state_idx" ON "GuestMount"("ownerId", "state");

-- CreateIndex
CREATE INDEX "GuestMount_moverId_state_idx" ON "GuestMount"("moverId", "state");

-- AddForeignKey
ALTER TABLE "GuestMount" ADD CONSTRAINT "GuestMount_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "GuestMount" ADD CONSTRAINT "GuestMount_pointId_fkey" FOREIGN KEY ("pointId") REFERENCES "RestorePoint"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "GuestMount" ADD CONSTRAINT "GuestMount_moverId_fkey" FOREIGN KEY ("moverId") REFERENCES "Mover"("id") ON DELETE SET NULL ON UPDATE CASCADE;
