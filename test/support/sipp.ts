/**
 * SIP callers for end-to-end tests: SIPp (Debian's sip-tester) runs the scenarios of test/sipp/ against
 * the sandbox's PJSIP endpoint, sending RTP audio and RFC 4733 digits from pcap files.
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { until } from './wait';
import { parseStoredRecord, type StoredRecord } from '../../src/ledger';
import { REPO, sandbox } from './sandbox';

export const SCENARIOS = resolve(REPO, 'test/sipp');

/** Where Debian's sip-tester installs its RFC 2833/4733 digit captures (dtmf_2833_<digit>.pcap). */
export const SIPP_PCAPS = '/usr/share/sip-tester';

/** Fails with an explanation when SIPp or its digit captures are missing. */
export function requireSipp(): void {
  const r = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  if (r.error || !/SIPp v3/.test(`${r.stdout}${r.stderr}`)) {
    throw new Error('SIPp is not installed: `bash scripts/sandbox.sh up` installs it (Debian package sip-tester)');
  }
  if (!/PCAP/.test(`${r.stdout}${r.stderr}`)) throw new Error('this SIPp was built without pcap play (needed for RTP and RFC 4733 digits)');
  for (const d of ['1', '2']) {
    const f = resolve(SIPP_PCAPS, `dtmf_2833_${d}.pcap`);
    if (!existsSync(f)) throw new Error(`${f} is missing (it comes with the sip-tester package)`);
  }
  // Pcap play sends through a raw socket.
  if (process.getuid?.() !== 0) throw new Error('SIPp plays RTP from pcap files through a raw socket: run the tests as root');
}

// --------------------------------------------------------------------------------------- pcap files

const PCAP_MAGIC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface RtpStreamOptions {
  payloadType: number;
  /** Bytes of payload per packet (160 = 20 ms of G.711). */
  bytesPerPacket: number;
  samplesPerPacket: number;
  ptimeMs: number;
}

/**
 * Writes `payload` (already encoded) as an RTP stream in a pcap file, one Ethernet/IPv4/UDP packet per
 * frame, timed `ptimeMs` apart. SIPp's play_pcap_audio keeps the RTP headers and the timing, and
 * replaces the addresses and ports with the call's.
 */
export function writeRtpPcap(file: string, payload: Buffer, o: RtpStreamOptions): void {
  const packets: RtpPacket[] = [];
  for (let i = 0; i < Math.floor(payload.length / o.bytesPerPacket); i++) {
    packets.push({
      payloadType: o.payloadType,
      marker: i === 0, // the first packet of the talk spurt
      seqOffset: i,
      tsOffset: i * o.samplesPerPacket,
      atUs: i * o.ptimeMs * 1000,
      data: payload.subarray(i * o.bytesPerPacket, (i + 1) * o.bytesPerPacket),
    });
  }
  writePcap(file, packets);
}

interface RtpPacket {
  payloadType: number;
  marker: boolean;
  /** Sequence number and timestamp, as offsets from the stream's random first values. */
  seqOffset: number;
  tsOffset: number;
  /** When it is sent, from the start of the capture. */
  atUs: number;
  data: Buffer;
}

/** One Ethernet/IPv4/UDP/RTP frame per packet (SIPp replaces the addresses and ports with the call's). */
function writePcap(file: string, packets: RtpPacket[]): void {
  const parts: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(PCAP_MAGIC, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  parts.push(global);

  const ssrc = randomBytes(4).readUInt32BE(0);
  const seq0 = randomBytes(2).readUInt16BE(0);
  const ts0 = randomBytes(4).readUInt32BE(0);
  const start = Math.floor(Date.now() / 1000);
  for (const p of packets) {
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80; // version 2, no padding, extension or CSRC
    rtp[1] = (p.payloadType & 0x7f) | (p.marker ? 0x80 : 0);
    rtp.writeUInt16BE((seq0 + p.seqOffset) & 0xffff, 2);
    rtp.writeUInt32BE((ts0 + p.tsOffset) >>> 0, 4);
    rtp.writeUInt32BE(ssrc, 8);

    const udp = Buffer.alloc(8);
    const udpLength = 8 + rtp.length + p.data.length;
    udp.writeUInt16BE(40000, 0);
    udp.writeUInt16BE(20000, 2);
    udp.writeUInt16BE(udpLength, 4); // checksum 0: none (SIPp computes its own)

    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udpLength, 2);
    ip[8] = 64; // TTL
    ip[9] = 17; // UDP
    ip.set([127, 0, 0, 1], 12);
    ip.set([127, 0, 0, 1], 16);
    ip.writeUInt16BE(ipv4Checksum(ip), 10);

    const ethernet = Buffer.alloc(14);
    ethernet.writeUInt16BE(0x0800, 12);

    const frame = Buffer.concat([ethernet, ip, udp, rtp, p.data]);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(start + Math.floor(p.atUs / 1e6), 0);
    record.writeUInt32LE(p.atUs % 1e6, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    parts.push(record, frame);
  }
  writeFileSync(file, Buffer.concat(parts));
}

/** RFC 4733 event codes of the DTMF keys. */
const DTMF_EVENTS: Record<string, number> = { '*': 10, '#': 11, A: 12, B: 13, C: 14, D: 15 };

/**
 * A pcap of DTMF keys as RFC 4733 telephone-events (payload type 101), one event per key, each with
 * its own timestamp: 100 ms of tone in 20 ms updates, three end packets, then `gapMs` of nothing.
 * (Debian's per-key captures all share one timestamp: played one after the other, Asterisk takes the
 * second key for a repeat of the first.)
 */
export function writeDtmfPcap(file: string, keys: string, gapMs = 300): void {
  const packets: RtpPacket[] = [];
  let seq = 0;
  let ts = 0;
  let atUs = 0;
  for (const key of keys) {
    const event = DTMF_EVENTS[key] ?? Number(key);
    if (!Number.isInteger(event) || event < 0 || event > 15) throw new Error(`not a DTMF key: ${key}`);
    const updates = 5;
    for (let i = 1; i <= updates + 3; i++) {
      const end = i > updates;
      const data = Buffer.alloc(4);
      data[0] = event;
      data[1] = (end ? 0x80 : 0) | 10; // E bit, volume -10 dBm0
      data.writeUInt16BE(Math.min(i, updates) * 160, 2);
      packets.push({ payloadType: 101, marker: i === 1, seqOffset: seq++, tsOffset: ts, atUs, data });
      atUs += end ? 0 : 20_000;
    }
    ts += updates * 160 + (gapMs * 8);
    atUs += gapMs * 1000;
  }
  writePcap(file, packets);
}

/** A pcap of `seconds` of a sine tone at `hz`, G.711 A-law (payload type 8), 20 ms packets. */
export function writeTonePcap(file: string, seconds: number, hz: number): void {
  const alaw = execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'a-law', '-t', 'raw', '-', 'synth', String(seconds), 'sine', String(hz), 'vol', '0.5'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  writeRtpPcap(file, alaw, { payloadType: 8, bytesPerPacket: 160, samplesPerPacket: 160, ptimeMs: 20 });
}

// --------------------------------------------------------------------------------------- running SIPp

export interface SippOptions {
  /** Scenario file name in test/sipp/ (accept.xml, refuse.xml, silent.xml, hangup.xml, load.xml). */
  scenario: string;
  /** The number dialled ([service] in the scenario). */
  exten: string;
  /** RTP capture the caller "talks" with; copied as caller-audio.pcap next to the scenario. */
  audio?: string;
  calls?: number;
  /** Calls per second. */
  rate?: number;
  /** Simultaneous calls at most. */
  limit?: number;
  /** SIPp gives up (and fails) after this long. */
  timeoutS?: number;
  /** Keep every SIP message sent and received (SippResult.messages). */
  traceMessages?: boolean;
  /** Local SIP port (a scenario that answers calls listens there). */
  listenPort?: number;
}

export interface SippResult {
  /** SIPp's exit code: 0 every call succeeded, 1 some failed, other values: SIPp itself failed. */
  code: number | null;
  dir: string;
  /** Cumulative counters of the last statistics line (SuccessfulCall(C), FailedCall(C), Retransmissions(C), ...). */
  stats: Record<string, string>;
  output: string;
  errors: string;
  /** The SIP messages, with traceMessages. */
  messages: string;
  startedAt: number;
  endedAt: number;
}

/** Counters of SIPp's statistics file (-trace_stat): the header line and the last line. */
function readStats(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.split(';') ?? [];
  const last = lines[lines.length - 1]?.split(';') ?? [];
  return Object.fromEntries(header.map((h, i) => [h, last[i] ?? '']));
}

/** Runs one SIPp process placing `calls` calls with the scenario, in its own folder under .sandbox/sipp/. */
export function runSipp(o: SippOptions): Promise<SippResult> {
  const { host, port } = sandbox().sip;
  const name = o.scenario.replace(/\.xml$/, '');
  const dir = resolve(sandbox().stateDir, 'sipp', `${name}-${o.exten}-${randomUUID().slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  // SIPp looks for relative pcap files next to the scenario first.
  copyFileSync(resolve(SCENARIOS, o.scenario), resolve(dir, o.scenario));
  if (o.audio) copyFileSync(o.audio, resolve(dir, 'caller-audio.pcap'));
  const calls = o.calls ?? 1;
  const timeoutS = o.timeoutS ?? 90;
  const args = [
    `${host}:${port}`,
    '-sf', resolve(dir, o.scenario),
    '-s', o.exten,
    '-i', '127.0.0.1',
    '-mi', '127.0.0.1',
    ...(o.listenPort ? ['-p', String(o.listenPort)] : []),
    '-m', String(calls),
    '-r', String(o.rate ?? 10),
    '-l', String(o.limit ?? calls),
    '-nostdin',
    '-timeout', `${timeoutS}s`,
    '-timeout_error',
    '-trace_err', '-error_file', resolve(dir, 'errors.log'),
    '-trace_stat', '-stf', resolve(dir, 'stats.csv'), '-fd', '1',
    ...(o.traceMessages ? ['-trace_msg', '-message_file', resolve(dir, 'messages.log')] : []),
  ];
  const startedAt = Date.now();
  return new Promise((res) => {
    const proc = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (c: Buffer) => {
      output = (output + c.toString('utf8')).slice(-20000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    // SIPp's own timeout should fire first; this one catches a SIPp that hangs.
    const guard = setTimeout(() => proc.kill('SIGKILL'), (timeoutS + 15) * 1000);
    proc.once('close', (code) => {
      clearTimeout(guard);
      // The audio copy is the only bulky file of the folder, and the test can make it again.
      if (o.audio) rmSync(resolve(dir, 'caller-audio.pcap'), { force: true });
      const errorsFile = resolve(dir, 'errors.log');
      const messagesFile = resolve(dir, 'messages.log');
      writeFileSync(resolve(dir, 'output.txt'), output);
      res({
        code,
        dir,
        stats: readStats(resolve(dir, 'stats.csv')),
        output,
        errors: existsSync(errorsFile) ? readFileSync(errorsFile, 'utf8') : '',
        messages: existsSync(messagesFile) ? readFileSync(messagesFile, 'utf8') : '',
        startedAt,
        endedAt: Date.now(),
      });
    });
  });
}

/** A fresh number for one test's calls: all digits (the inbound context matches _X.), unlikely to repeat. */
export function freshExten(prefix: string): string {
  return `${prefix}${String(randomBytes(3).readUIntBE(0, 3) % 1000000).padStart(6, '0')}`;
}

// --------------------------------------------------------------------------------------- the ledger

/** A record as `consent-ivr ledger show --json` prints it, read into the record's model. */
export type LedgerRecord = StoredRecord & { chainSeq: number };

/** The record of one printed JSON object, or null. */
function asLedgerRecord(json: unknown): LedgerRecord | null {
  if (json === null || typeof json !== 'object') return null;
  const seq = (json as { chainSeq?: unknown }).chainSeq;
  return { ...parseStoredRecord(JSON.stringify(json)), chainSeq: typeof seq === 'number' ? seq : 0 };
}

const execFileP = promisify(execFile);

async function ledgerJson(args: string[]): Promise<unknown> {
  const cli = [resolve(REPO, 'dist/cli/main.js'), 'ledger', ...args, '--json', '--config', resolve(REPO, 'config/sandbox.yaml')];
  try {
    const { stdout } = await execFileP(process.execPath, cli, { cwd: REPO, encoding: 'utf8', timeout: 30000, maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout) as unknown;
  } catch {
    return null;
  }
}

/** One consent record as `consent-ivr ledger show <uniqueid> --json` prints it, or null when there is none. */
export async function ledgerRecord(uniqueId: string): Promise<LedgerRecord | null> {
  return asLedgerRecord(await ledgerJson(['show', uniqueId]));
}

/**
 * The record once `ok` holds for it (the service stores some fields a moment after the dialplan's
 * event), polled every 300 ms; throws with the record as last seen after `ms`.
 */
export async function ledgerRecordWhen(uniqueId: string, ok: (r: LedgerRecord) => boolean, ms = 20000): Promise<LedgerRecord> {
  let last: LedgerRecord | null = null;
  const found = await until(async () => {
    last = await ledgerRecord(uniqueId);
    return last && ok(last) ? last : undefined;
  }, ms, 300);
  if (!found) throw new Error(`the ledger record of ${uniqueId} is not as expected after ${ms} ms: ${JSON.stringify(last)}`);
  return found;
}

/** Every record entered since `since` (`consent-ivr ledger list --since`), by uniqueId. */
export async function ledgerRecordsSince(since: Date): Promise<Map<string, LedgerRecord>> {
  const list = ((await ledgerJson(['list', '--since', since.toISOString()])) as unknown[] | null) ?? [];
  return new Map(list.map(asLedgerRecord).flatMap((r) => (r ? [[r.uniqueId, r] as const] : [])));
}
