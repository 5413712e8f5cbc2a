/**
 * Migration 0015: a person's personal chat is found through an index that covers the whole condition (person, tenant,
 * type), on both engines, also after an upgrade from 0014.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { ConversationRefInput, Store } from '../../src/store';
import { ENGINES, engineFixture, rawKysely, storesUpgradedFrom } from './helpers';

const TENANT = 'tenant-1';

const chat = (id: string, type: ConversationRefInput['conversationType'], user: string | null, installed = true): ConversationRefInput => ({
  conversationId: id,
  conversationType: type,
  tenantId: TENANT,
  serviceUrl: 'https://smba.trafficmanager.net/emea/',
  userAadObjectId: user,
  channelId: type === 'channel' ? `19:${id}@thread.tacv2` : null,
  teamId: type === 'channel' ? 'team-1' : null,
  reference: { conversation: { id } },
  botInstalled: installed,
});

async function indexes(store: Store): Promise<string[]> {
  const q =
    store.engine === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'conversation_refs' and name not like 'sqlite_%' order by name`
      : sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'conversation_refs' and indexname not like '%_pkey' order by indexname`;
  return (await q.execute(store.db)).rows.map((r) => r.name);
}

for (const engine of ENGINES) {
  describe(`a person's personal chat is found by its own index (${engine})`, function () {
    this.timeout(60_000);
    const fx = engineFixture(engine, 'conv-index');

    it('has the index on person, tenant and type instead of the partial one the planner passed over, and finds the chat through it', async function () {
      const opts = await fx.freshOptions();
      const store = await fx.open(opts);
      assert.deepEqual(await indexes(store), ['conversation_refs_person_idx', 'conversation_refs_tenant_type_idx']);
      for (let i = 0; i < 40; i++) await store.conversations.upsert(chat(`a:${i}`, 'personal', `user-${i}`));
      await store.conversations.upsert(chat('a:7-old', 'personal', 'user-7', false));
      await store.conversations.upsert(chat('19:group', 'groupChat', 'user-7'));
      await store.conversations.upsert(chat('19:channel', 'channel', null));
      assert.equal((await store.conversations.personalFor('user-7', TENANT))?.conversationId, 'a:7', 'the installed personal chat, not a group chat or an uninstalled one');
      assert.equal(await store.conversations.personalFor('user-7', 'another-tenant'), undefined);
      if (engine === 'sqlite') {
        // the query as the repository asks it, the type bound as a parameter
        const raw = rawKysely(opts);
        try {
          const plan = await sql<{ detail: string }>`explain query plan select * from conversation_refs where conversation_type = ${'personal'} and user_aad_object_id = ${'user-7'} and tenant_id = ${TENANT} order by bot_installed desc, updated_at desc, conversation_id limit 1`.execute(raw);
          assert.match(plan.rows.map((r) => r.detail).join(' | '), /USING INDEX conversation_refs_person_idx/);
        } finally {
          await raw.destroy();
        }
      }
    });

    it('is made when a 0014 database is upgraded, and the chats stored before are found', async function () {
      const [a, b] = await storesUpgradedFrom(fx, engine, '0014_batch_decisions', async (old) => {
        await sql`insert into conversation_refs (conversation_id, conversation_type, tenant_id, service_url, user_aad_object_id, reference_json, bot_installed, revision, created_at, updated_at) values ('a:old', 'personal', ${TENANT}, 'https://smba.trafficmanager.net/emea/', 'user-old', '{}', 1, 1, '2025-03-01T09:00:00.000Z', '2025-03-01T09:00:00.000Z')`.execute(old);
      });
      try {
        assert.deepEqual(await indexes(a), ['conversation_refs_person_idx', 'conversation_refs_tenant_type_idx']);
        assert.equal((await b.conversations.personalFor('user-old', TENANT))?.conversationId, 'a:old');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
