/**
 * Redis servers of a test's own, on free ports in temporary folders (never the sandbox's), so that the
 * test can stop, pause and restart them; and a Redis Cluster of its own.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './wait';

export async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** Resolves once a Redis on this port answers PING (5 s at most). */
export async function waitForRedis(port: number): Promise<void> {
  await eventually(async () => {
    const c = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    c.on('error', () => undefined);
    const ok = await c.connect().then(() => c.ping()).then(() => true, () => false);
    c.disconnect();
    return ok;
  }, 5000, `redis-server on port ${port}`, 50);
}

function redisServer(port: number, dir: string, args: string[]): ChildProcess {
  return spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--loglevel', 'warning', ...args], { stdio: 'ignore' });
}

async function stop(p: ChildProcess | null): Promise<void> {
  if (!p || p.exitCode !== null) return;
  const exited = once(p, 'exit');
  p.kill('SIGCONT');
  p.kill('SIGTERM');
  await exited;
}

/** A redis-server with AOF (fsync always), so its data survives a restart; with `persistence: false`, none. */
export class RedisServer {
  proc: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly persistence: boolean,
  ) {}

  static async start(opts: { persistence?: boolean } = {}): Promise<RedisServer> {
    const s = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'civr-redis-')), opts.persistence ?? true);
    await s.up();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async up(): Promise<void> {
    this.proc = redisServer(this.port, this.dir, this.persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']);
    await waitForRedis(this.port);
  }

  async down(): Promise<void> {
    await stop(this.proc);
    this.proc = null;
  }

  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Redis Cluster of `masters` nodes (no replicas) made with redis-cli --cluster create: the slots spread over the masters. */
export class RedisCluster {
  private constructor(
    readonly ports: number[],
    readonly dir: string,
    private readonly procs: ChildProcess[],
  ) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'civr-cluster-'));
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) ports.push(await freePort());
    const procs = ports.map((p) => {
      mkdirSync(join(dir, String(p)));
      return redisServer(p, join(dir, String(p)), ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no']);
    });
    const c = new RedisCluster(ports, dir, procs);
    for (const p of ports) await waitForRedis(p);
    const create = spawnSync('/usr/bin/redis-cli', ['--cluster', 'create', ...c.nodes, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) {
      await c.destroy();
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    }
    // Every node must agree before clients use it.
    for (const port of ports) {
      const r = new Redis({ port, maxRetriesPerRequest: 1 });
      await eventually(async () => String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), 10000, `cluster node ${port}`, 50).finally(() => r.disconnect());
    }
    return c;
  }

  /** host:port seeds, as redis.clusterNodes takes them. */
  get nodes(): string[] {
    return this.ports.map((p) => `127.0.0.1:${p}`);
  }

  /** The port of the master serving a key's slot. */
  async masterOf(key: string): Promise<number> {
    const r = new Redis({ port: this.ports[0], maxRetriesPerRequest: 1 });
    try {
      const slot = Number(await r.call('CLUSTER', 'KEYSLOT', key));
      const shards = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const owner = shards.find(([lo, hi]) => slot >= lo && slot <= hi);
      if (!owner) throw new Error(`no master serves slot ${slot}`);
      return Number(owner[2][1]);
    } finally {
      r.disconnect();
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(this.procs.map(stop));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
