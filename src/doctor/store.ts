import type { Store } from '../store';
import { fail, pass, type Check } from './report';

/** The store answers and is migrated (openStore migrates before it returns). */
export function storeCheck(store: Pick<Store, 'engine' | 'ping'>): Check {
  const name = `the ${store.engine === 'postgres' ? 'PostgreSQL' : 'SQLite'} store answers`;
  return {
    area: 'Store',
    name,
    async run() {
      try {
        await store.ping();
        return [pass('Store', name, 'It answers and its schema is up to date.')];
      } catch (err) {
        return [fail('Store', name, err instanceof Error ? err.message : String(err), store.engine === 'postgres' ? 'Check DATABASE_URL, the server and the firewall.' : 'Check that DATA_DIR is writable.')];
      }
    },
  };
}
