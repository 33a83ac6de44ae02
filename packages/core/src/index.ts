export * from './disk-reader.js';
export * from './grant-tasks.js';
export * from './ids.js';
export * from './job-spec.js';
export * from './plan-run.js';
export * from './roles.js';
export * from './schedule.js';
export * from './zoned-time.js';
