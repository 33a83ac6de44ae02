export * from './catalog.js';
export * from './queues.js';
export * from './wake.js';
