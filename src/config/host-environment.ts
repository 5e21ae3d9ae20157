/** Variables of the host environment that process modules inherit (nothing else leaks into them). */
const HOST_ENV_NAMES = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

/**
 * The part of this process's environment a process module inherits, and with it the PATH its
 * command is looked up in (`outpost check` and `outpost deploy` look it up the same way).
 */
export function hostEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of HOST_ENV_NAMES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
