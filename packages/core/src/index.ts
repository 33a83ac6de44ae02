export * from './disk-reader.js';
export * from './grant-tasks.js';
export * from './ids.js';
export * from './roles.js';
