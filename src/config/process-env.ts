/**
 * The process environment, read in one place. Entry points pass it to the typed configuration readers;
 * child processes (Samba, the Agents Playground) inherit it with their own additions.
 */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/** The environment for a child process: this process's, plus `extra`. */
export function childEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

/** The directories of PATH, for finding installed tools. */
export function searchPath(): string[] {
  return (process.env.PATH ?? '').split(process.platform === 'win32' ? ';' : ':').filter(Boolean);
}
