export { GuestfsAppliance, type GuestFilesystem, type LaunchOptions } from './appliance.js';
export type { GuestDrive } from './drives.js';
export type { GuestEntry, GuestEntryType } from './entries.js';
export { GuestfsError, GuestPathError, type GuestfsErrorCode } from './errors.js';
export { killAppliance } from './kill.js';
export { normalizeGuestPath } from './paths.js';
