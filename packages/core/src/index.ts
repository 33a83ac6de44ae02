export * from './disk-reader.js';
export * from './ids.js';
export * from './roles.js';
