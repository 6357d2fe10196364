/**
 * Key layout of the ledger. Every key carries the hash tag `{ledger}` after the configured prefix, so all
 * of them live in one Cluster slot and the multi-key scripts and transactions work on Cluster too.
 *
 *   <prefix>{ledger}:chain               stream   the event log; entry id <seq>-0, fields seq, prev, hash, body
 *   <prefix>{ledger}:anchor              string   "<seq>:<hash>" of the last entry trimmed by purge
 *   <prefix>{ledger}:rec:<uniqueid>      hash     record (JSON), stage, seq, enteredMs, ev:<event id> → seq
 *   <prefix>{ledger}:idx:entered         zset     uniqueid scored by enteredAt (ms): list, export, purge
 *   <prefix>{ledger}:idx:caller:<pseudonym> set   uniqueids of one caller: erase
 *   <prefix>{ledger}:lock:<name>         string   short-lived lock (purge)
 *   <prefix>{ledger}:erasures            hash     caller pseudonym → time (ms) of their last erasure request
 *   <prefix>{ledger}:deletions:<server>  hash     uniqueid → recording deletion queued for that server (JSON)
 *   <prefix>{ledger}:deletion-servers    set      servers that have had deletions queued
 *   <prefix>{ledger}:deletions-done      hash     uniqueid → confirmation of a deletion (JSON)
 */
export interface LedgerKeys {
  base: string;
  chain: string;
  anchor: string;
  entered: string;
  record(uniqueId: string): string;
  caller(pseudonym: string): string;
  lock(name: string): string;
  erasures: string;
  deletions(server: string): string;
  deletionServers: string;
  deletionsDone: string;
}

export function ledgerKeys(prefix: string): LedgerKeys {
  const base = `${prefix}{ledger}:`;
  return {
    base,
    chain: `${base}chain`,
    anchor: `${base}anchor`,
    entered: `${base}idx:entered`,
    record: (id) => `${base}rec:${id}`,
    caller: (p) => `${base}idx:caller:${p}`,
    lock: (name) => `${base}lock:${name}`,
    erasures: `${base}erasures`,
    deletions: (server) => `${base}deletions:${server}`,
    deletionServers: `${base}deletion-servers`,
    deletionsDone: `${base}deletions-done`,
  };
}
