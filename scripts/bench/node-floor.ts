/**
 * The Node floor of the benchmark: the fewest steps a Node ARI application can take on consent-ivr's
 * path, to measure what a Node service costs at the least. Per call: StasisStart → answer → play the
 * notice → the key → one Redis write → AMI MixMonitor → continue in the dialplan as accepted. One
 * websocket (Node's own, --experimental-websocket), keep-alive HTTP (fetch), one Redis socket and one
 * AMI socket speaking their protocols directly; no logging, no ledger chain, no flow, no timers.
 *
 * With FLOOR_STEPS=product (`--floor-steps product`) it also takes the steps consent-ivr cannot do
 * without (below), to tell what the product costs from what its implementation costs.
 *
 * Run by the benchmark: node --experimental-websocket node-floor.js (settings in the environment);
 * prints "ready" once its application is registered. Not a product: it records on any "1", keeps
 * nothing, handles no failure.
 */
import { connect, type Socket } from 'node:net';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`node-floor: ${k} is not set`);
  return v;
};
const [ARI, USER, PASSWORD, APP] = [env('FLOOR_ARI_URL'), env('FLOOR_ARI_USER'), env('FLOOR_ARI_PASSWORD'), env('FLOOR_APP')];
const REC_DIR = env('FLOOR_RECORDING_DIR');
const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** A socket whose replies come back in the order of the requests (Redis, and AMI with one action at a time per id). */
function lineSocket(port: number, onChunk: (text: string) => void): Socket {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  s.setEncoding('utf8');
  s.on('data', onChunk);
  return s;
}

// Redis: SET with its replies counted in order (every reply is one line: +OK or -ERR).
const redisWaiting: (() => void)[] = [];
let redisBuf = '';
const redis = lineSocket(Number(env('FLOOR_REDIS_PORT')), (t) => {
  redisBuf += t;
  let i: number;
  while ((i = redisBuf.indexOf('\r\n')) >= 0) {
    redisBuf = redisBuf.slice(i + 2);
    redisWaiting.shift()?.();
  }
});
const resp = (...parts: string[]) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
const redisSet = (key: string, value: string) =>
  new Promise<void>((r) => {
    redisWaiting.push(r);
    redis.write(resp('SET', key, value));
  });

// AMI: actions matched to their responses by ActionID.
const amiWaiting = new Map<string, () => void>();
let amiBuf = '';
let amiSeq = 0;
const ami = lineSocket(Number(env('FLOOR_AMI_PORT')), (t) => {
  amiBuf += t;
  let i: number;
  while ((i = amiBuf.indexOf('\r\n\r\n')) >= 0) {
    const id = /ActionID: (\S+)/.exec(amiBuf.slice(0, i))?.[1];
    amiBuf = amiBuf.slice(i + 4);
    if (id) amiWaiting.get(id)?.();
    if (id) amiWaiting.delete(id);
  }
});
const amiAction = (fields: Record<string, string>) =>
  new Promise<void>((r) => {
    const id = `f${++amiSeq}`;
    amiWaiting.set(id, r);
    ami.write(`${Object.entries({ ...fields, ActionID: id }).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
  });

/**
 * One ARI request. A keep-alive connection Asterisk closed under load ("other side closed", past
 * http.conf's sessionlimit) fails the request before it reached Asterisk: any service sends it
 * again, so this does, a few times; what still fails is counted on stderr, never thrown.
 */
async function ari(method: string, path: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await (await fetch(`${ARI}/ari${path}`, { method, headers: { authorization: auth } })).arrayBuffer();
      return;
    } catch (e) {
      if (attempt >= 5) {
        process.stderr.write(`node floor: ARI ${method} ${path.split('?')[0]} failed: ${(e as Error).message}\n`);
        return;
      }
    }
  }
}

/** The calls between their StasisStart and their key. */
const waiting = new Set<string>();

/**
 * FLOOR_STEPS=product: the steps consent-ivr's accept cannot do without, each done the cheapest way:
 * the notice stopped at the key, the confirmation played over ARI and waited for, the outcome
 * written after the hand-back (a second Redis write). What it costs on top of the floor is the
 * product's, not its implementation's.
 */
const STEPS = env('FLOOR_STEPS');
if (STEPS !== 'minimal' && STEPS !== 'product') throw new Error(`node-floor: FLOOR_STEPS must be minimal or product, got ${STEPS}`);
const PRODUCT = STEPS === 'product';
const confirming = new Map<string, string>();

async function accepted(id: string): Promise<void> {
  if (PRODUCT) void ari('DELETE', `/playbacks/${id}-n`);
  await redisSet(`${APP}:${id}`, 'accepted');
  await amiAction({ Action: 'MixMonitor', Channel: channels.get(id) ?? id, File: `${REC_DIR}/${id}.wav`, Options: 'b' });
  if (PRODUCT) {
    confirming.set(`${id}-c`, id);
    await ari('POST', `/channels/${id}/play?media=sound:ar/consent-ivr/accepted&playbackId=${id}-c`);
    return;
  }
  await handBack(id);
}

async function handBack(id: string): Promise<void> {
  await ari('POST', `/channels/${id}/continue?context=consent-ivr-result&extension=accepted_ar_key-accept&priority=1`);
  if (PRODUCT) await redisSet(`${APP}:${id}:outcome`, 'accepted');
}

function onEvent(e: { type: string; channel?: { id: string; name: string }; digit?: string; playback?: { id: string } }): void {
  if (e.type === 'PlaybackFinished' && e.playback && confirming.has(e.playback.id)) {
    const call = confirming.get(e.playback.id) as string;
    confirming.delete(e.playback.id);
    void handBack(call);
    return;
  }
  const id = e.channel?.id;
  if (!id) return;
  if (e.type === 'StasisStart') {
    waiting.add(id);
    channels.set(id, e.channel?.name ?? '');
    void ari('POST', `/channels/${id}/answer`).then(() => ari('POST', `/channels/${id}/play?media=sound:ar/consent-ivr/notice&playbackId=${id}-n`));
  } else if (e.type === 'ChannelDtmfReceived' && e.digit === '1' && waiting.delete(id)) {
    void accepted(id);
  } else if (e.type === 'StasisEnd') {
    waiting.delete(id);
    confirming.delete(`${id}-c`);
    channels.delete(id);
  }
}

/** Channel names by id: MixMonitor takes the name. */
const channels = new Map<string, string>();

ami.once('data', () => ami.write(`Action: Login\r\nUsername: ${env('FLOOR_AMI_USER')}\r\nSecret: ${env('FLOOR_AMI_SECRET')}\r\nEvents: off\r\n\r\n`));
const ws = new WebSocket(`${ARI.replace(/^http/, 'ws')}/ari/events?app=${encodeURIComponent(APP)}&api_key=${encodeURIComponent(`${USER}:${PASSWORD}`)}&subscribeAll=false`);
ws.addEventListener('open', () => process.stdout.write('ready\n'));
ws.addEventListener('message', (m) => onEvent(JSON.parse(String(m.data)) as Parameters<typeof onEvent>[0]));
ws.addEventListener('close', () => process.exit(0));
process.on('SIGTERM', () => ws.close());
