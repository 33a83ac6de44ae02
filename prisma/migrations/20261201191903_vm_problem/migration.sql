-- AlterTable
ALTER TABLE "Vm" ADD COLUMN     "problem" TEXT;
