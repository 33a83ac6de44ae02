export { backupDisk, type BackupOptions, type BackupStats } from './backup-disk.js';
export { planBlocks, type BlockPlan } from './block-plan.js';
export { PipelineError, type PipelineErrorCode } from './errors.js';
export { FileDiskReader } from './file-disk-reader.js';
export type { Progress, Stage } from './progress.js';
export { restoreDisk, type RestoreOptions, type RestoreProgress } from './restore-disk.js';
export { Throttle } from './throttle.js';
