/**
 * The console's address: STRONGBOX_PUBLIC_URL when the user set it, else localhost on the port
 * start-up actually listens on (PORT, or the first free port above it).
 *
 * It reads the raw environment, not checkGivenEnv's result: that one fills the schema's
 * defaults, so its STRONGBOX_PUBLIC_URL is `http://localhost:3000` even when unset, which
 * printed (and gave the children) port 3000 for `PORT=3300 npm start`. An empty value counts
 * as unset, as it does for checkGivenEnv; a set one has already been validated there.
 */
export function consoleUrl(environment: Record<string, string | undefined>, port: number): string {
  return environment.STRONGBOX_PUBLIC_URL || `http://localhost:${port}`;
}
