/**
 * Key layout of the ledger. The ledger is several logs, one per service instance (ledger.log, by default
 * the server id), so instances never contend for one chain head. Each log's keys carry the hash tag
 * `{ledger:<log>}`: on Redis Cluster a log and the records it writes share one slot (the append script
 * touches them together) and different logs spread over the cluster. Keys shared by all logs carry
 * `{ledger}`. The log named '' is the single chain of versions before per-instance logs (`{ledger}`).
 *
 * Per log, `<prefix>{ledger:<log>}:` then
 *   chain                 stream   the event log; entry id <seq>-0, fields seq, prev, hash, body
 *   anchor                string   "<seq>:<hash>" of the last entry trimmed by purge
 *   tree                  string   Merkle compact range of the whole log ("<size>:<hex>,…"), set by each append
 *   anchor-tree           string   Merkle compact range at the anchor (the trimmed entries' subtrees)
 *   checkpoints           stream   signed checkpoints: fields size, note, tree
 *   rec:<uniqueid>        hash     record (JSON), stage, seq, enteredMs, ev:<event id> → seq
 *   idx:entered           zset     uniqueid scored by enteredAt (ms): list, export, purge
 *   idx:caller:<pseudonym> set     uniqueids of one caller: erase
 *
 * Shared, `<prefix>{ledger}:` then
 *   logs                  set      the logs (instances) of this ledger
 *   notices               hash     notice version → the texts and audio hashes of that version (JSON)
 *   unsealed:<server>     hash     uniqueid → recording of that server not sealed yet (JSON)
 *   lock:<name>           string   short-lived lock (purge)
 *   erasures              hash     caller pseudonym → time (ms) of their last erasure request
 *   deletions:<server>    hash     uniqueid → recording deletion queued for that server (JSON)
 *   deletion-servers      set      servers that have had deletions queued
 *   deletions-done        hash     uniqueid → confirmation of a deletion (JSON)
 *   recording-keys        hash     uniqueid → what opens its encrypted recording: its own key wrapped to the
 *                                  controller's (JSON), or the tombstone an erasure left ({"destroyedAtMs"})
 *   holds                 hash     hold id → legal hold in force (JSON: scope, call or caller pseudonym, reason, entry)
 */
export interface LogKeys {
  log: string;
  base: string;
  chain: string;
  anchor: string;
  tree: string;
  anchorTree: string;
  checkpoints: string;
  entered: string;
  record(uniqueId: string): string;
  caller(pseudonym: string): string;
}

export interface SharedKeys {
  base: string;
  logs: string;
  notices: string;
  unsealed(server: string): string;
  lock(name: string): string;
  erasures: string;
  deletions(server: string): string;
  deletionServers: string;
  deletionsDone: string;
  recordingKeys: string;
  holds: string;
}

/** The hash-tagged base of a log's keys ('' is the log of versions before per-instance logs). */
export function logBase(prefix: string, log: string): string {
  return log === '' ? `${prefix}{ledger}:` : `${prefix}{ledger:${log}}:`;
}

export function logKeys(prefix: string, log: string): LogKeys {
  const base = logBase(prefix, log);
  return {
    log,
    base,
    chain: `${base}chain`,
    anchor: `${base}anchor`,
    tree: `${base}tree`,
    anchorTree: `${base}anchor-tree`,
    checkpoints: `${base}checkpoints`,
    entered: `${base}idx:entered`,
    record: (id) => `${base}rec:${id}`,
    caller: (p) => `${base}idx:caller:${p}`,
  };
}

export function sharedKeys(prefix: string): SharedKeys {
  const base = `${prefix}{ledger}:`;
  return {
    base,
    logs: `${base}logs`,
    notices: `${base}notices`,
    unsealed: (server) => `${base}unsealed:${server}`,
    lock: (name) => `${base}lock:${name}`,
    erasures: `${base}erasures`,
    deletions: (server) => `${base}deletions:${server}`,
    deletionServers: `${base}deletion-servers`,
    deletionsDone: `${base}deletions-done`,
    recordingKeys: `${base}recording-keys`,
    holds: `${base}holds`,
  };
}
