/**
 * Mocha root hooks: shared test resources (PostgreSQL server, Samba DC, sandbox) are started lazily by the
 * suites that need them and registered here to be stopped once, after every suite has run.
 */
type Teardown = () => Promise<void>;
const teardowns: { name: string; fn: Teardown }[] = [];

export function onGlobalTeardown(name: string, fn: Teardown): void {
  teardowns.push({ name, fn });
}

export async function mochaGlobalTeardown(): Promise<void> {
  for (const { name, fn } of teardowns.reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`teardown of ${name} failed:`, err);
    }
  }
}
