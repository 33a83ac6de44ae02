-- CreateTable
CREATE TABLE "GuestIndex" (
    "pointId" UUID NOT NULL,
    "state" TEXT NOT NULL,
    "files" INTEGER NOT NULL DEFAULT 0,
    "durationMs" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "indexedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "GuestIndex_pkey" PRIMARY KEY ("pointId")
);

-- CreateTable
CREATE TABLE "GuestFile" (
    "id" BIGSERIAL NOT NULL,
    "pointId" UUID NOT NULL,
    "fs" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" CHAR(1) NOT NULL,
    "size" BIGINT NOT NULL,
    "mtime" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "GuestFile_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "GuestFile_pointId_fs_path_idx" ON "GuestFile"("pointId", "fs", "path");

-- AddForeignKey
ALTER TABLE "GuestIndex" ADD CONSTRAINT "GuestIndex_pointId_fkey" FOREIGN KEY ("pointId") REFERENCES "RestorePoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "GuestFile" ADD CONSTRAINT "GuestFile_pointId_fkey" FOREIGN KEY ("pointId") REFERENCES "RestorePoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Substring and pattern search on file names (`ILIKE '%…%'`): a trigram index (pg_trgm ships
-- with PostgreSQL's contrib, part of Debian's postgresql package).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "GuestFile_name_trgm_idx" ON "GuestFile" USING gin ("name" gin_trgm_ops);
