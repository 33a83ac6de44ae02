/** libvirt reads an SSH key for qemu+ssh:// from the URI's `keyfile` parameter; other URIs are used as they are. */
export function connectionUri(uri: string, sshKeyPath: string | null): string {
  if (!sshKeyPath || !uri.includes('+ssh://')) return uri;
  const url = new URL(uri);
  url.searchParams.set('keyfile', sshKeyPath);
  return url.toString();
}
