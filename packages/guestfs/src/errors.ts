import { CodedError } from '@strongbox/core';

export type GuestfsErrorCode =
  | 'GUESTFS_LAUNCH' // the appliance did not start
  | 'GUESTFS_COMMAND' // libguestfs refused a command (the message is its own)
  | 'GUESTFS_NOT_FOUND' // no such file or directory in the guest
  | 'GUESTFS_NOT_A_DIRECTORY'
  | 'GUESTFS_NOT_MOUNTABLE' // a file system the appliance cannot mount (swap, unknown, damaged)
  | 'GUESTFS_UNKNOWN_DEVICE' // a device that filesystems() did not list
  | 'GUESTFS_BAD_PATH'
  | 'GUESTFS_CLOSED' // the appliance was closed, or its process died
  | 'GUESTFS_ABORTED';

export class GuestfsError extends CodedError<GuestfsErrorCode> {}

/** A guest path that is refused before it reaches the appliance; `field` names the input it came from. */
export class GuestPathError extends GuestfsError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('GUESTFS_BAD_PATH', message);
  }
}

/** The code a libguestfs error message stands for (it carries strerror's text). */
export function codeOfMessage(message: string): GuestfsErrorCode {
  if (/No such file or directory/i.test(message)) return 'GUESTFS_NOT_FOUND';
  if (/Not a directory/i.test(message)) return 'GUESTFS_NOT_A_DIRECTORY';
  return 'GUESTFS_COMMAND';
}
