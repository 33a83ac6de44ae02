export * from './mailer.js';
export * from './smtp-settings.js';
