-- The run module (issue 9). Hand-written where a rename must keep its rows: a diff of the
-- schemas would drop and re-create the renamed tables. (No apostrophes or semicolons in these comments:
-- the script is split into statements without regard to comments.)

-- A login is not a "session": the console logins keep their rows under their own name.
ALTER TABLE "UserSession" RENAME TO "Login";
ALTER TABLE "Login" RENAME CONSTRAINT "UserSession_pkey" TO "Login_pkey";
ALTER TABLE "Login" RENAME CONSTRAINT "UserSession_userId_fkey" TO "Login_userId_fkey";
ALTER INDEX "UserSession_userId_idx" RENAME TO "Login_userId_idx";

-- The row of a backup repository is named for what it is (as BackupJob is), its foreign keys follow.
ALTER TABLE "Repository" RENAME TO "BackupRepository";
ALTER TABLE "BackupRepository" RENAME CONSTRAINT "Repository_pkey" TO "BackupRepository_pkey";
ALTER INDEX "Repository_name_key" RENAME TO "BackupRepository_name_key";
-- Two repositories never share one store (a check in code raced a concurrent create).
CREATE UNIQUE INDEX "BackupRepository_path_key" ON "BackupRepository"("path");

-- Movers record the stores they see: maintenance goes only to those.
ALTER TABLE "Mover" ADD COLUMN "repositoriesSeenAt" TIMESTAMP(3),
ADD COLUMN "repositoryIds" UUID[] DEFAULT ARRAY[]::UUID[];

-- The repository of a session (fixed at its start), the run it retries, its idempotency key.
ALTER TABLE "Session" ADD COLUMN "repositoryId" UUID,
ADD COLUMN "retryOfSessionId" UUID,
ADD COLUMN "startKey" TEXT;
UPDATE "Session" s SET "repositoryId" = j."repositoryId" FROM "BackupJob" j WHERE s."jobId" = j."id";
CREATE UNIQUE INDEX "Session_startKey_key" ON "Session"("startKey");
ALTER TABLE "Session" ADD CONSTRAINT "Session_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "BackupRepository"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "Session" ADD CONSTRAINT "Session_retryOfSessionId_fkey" FOREIGN KEY ("retryOfSessionId") REFERENCES "Session"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- One active backup run per job, held by the database: of two starts at once, one makes
-- the session and the other finds it. (The Prisma schema cannot express a partial index.)
CREATE UNIQUE INDEX "Session_one_active_backup_per_job" ON "Session"("jobId") WHERE "kind" = 'backup' AND "status" IN ('pending', 'running');

-- The unit of a task (the VM for a backup). `steps` was never written or read (the disks of a VM
-- share one point-in-time view, so a retry takes a new one and cannot resume a disk).
ALTER TABLE "Task" ADD COLUMN "unit" TEXT;
UPDATE "Task" SET "unit" = COALESCE("vmId"::text, "id"::text);
ALTER TABLE "Task" ALTER COLUMN "unit" SET NOT NULL;
ALTER TABLE "Task" DROP COLUMN "steps",
ADD COLUMN "result" JSONB;
DROP INDEX "Task_sessionId_idx";
CREATE INDEX "Task_sessionId_unit_idx" ON "Task"("sessionId", "unit");

-- Queue messages committed with the state they announce.
CREATE TABLE "OutboxMessage" (
    "id" BIGSERIAL NOT NULL,
    "queue" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "jobId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OutboxMessage_pkey" PRIMARY KEY ("id")
);
