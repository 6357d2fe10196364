/** The in-memory ledger store the unit tests use keeps the same contract as the Redis store. */
import { MemoryLedgerStore } from '../support/memory-ledger-store';
import { ledgerStoreContract } from '../contract/ledger-store';

ledgerStoreContract('in memory', () => new MemoryLedgerStore(), {
  forgetLink: async (store, uniqueId) => {
    const r = (store as MemoryLedgerStore).state.records.get(uniqueId);
    if (r) r.last = '';
  },
});

describe('in-memory ledger store', () => {
  test('When a lock outlives its time to live, then someone else gets it (as Redis expires the key)', async () => {
    let now = 0;
    const store = new MemoryLedgerStore('pbx-1', { nowMs: () => now });
    expect(await store.lock('purge', 1000)).not.toBeNull();
    now = 999;
    expect(await store.lock('purge', 1000)).toBeNull();
    now = 1000;
    expect(await store.lock('purge', 1000)).not.toBeNull();
  });
});
