/**
 * A redis-server of a test's own, on a free port in a temporary folder (never the sandbox's 6379),
 * so the test can stop, pause and restart it.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

export interface RedisServerOptions {
  /** false: no AOF and no snapshots, so it keeps nothing across a restart (what doctor warns about). Default true. */
  persistence?: boolean;
}

/** A redis-server with AOF (fsync always), so its data survives a restart; or, if asked, with no persistence. */
export class RedisServer {
  proc: ChildProcess | null = null;
  private persistence = true;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    const port = await freePort();
    if (port === 6379) throw new Error('refusing the shared Redis port');
    const s = new RedisServer(port, mkdtempSync(join(tmpdir(), 'civr-redis-')));
    s.persistence = opts.persistence ?? true;
    await s.up();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async up(): Promise<void> {
    this.proc = spawn(
      '/usr/bin/redis-server',
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''],
        ...(this.persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        ...['--loglevel', 'warning'],
      ],
      { stdio: 'ignore' },
    );
    await waitForRedis(this.port);
  }

  async down(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = once(p, 'exit');
    p.kill('SIGTERM');
    await exited;
    this.proc = null;
  }

  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Resolves once a Redis on this port answers PING (5 s at most). */
export async function waitForRedis(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const c = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch {
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`redis-server did not start on ${port}`);
}

/**
 * A Redis Cluster of `masters` nodes of a test's own (no replicas), each on a free port in one temporary
 * folder, created with redis-cli --cluster create: the slots spread over the masters.
 */
export class RedisCluster {
  private constructor(
    readonly ports: number[],
    readonly dir: string,
    private readonly procs: ChildProcess[],
  ) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'civr-cluster-'));
    const ports: number[] = [];
    const procs: ChildProcess[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      procs.push(
        spawn(
          '/usr/bin/redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
          { stdio: 'ignore' },
        ),
      );
    }
    const c = new RedisCluster(ports, dir, procs);
    for (const p of ports) await waitForRedis(p);
    const create = spawnSync('/usr/bin/redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) {
      await c.destroy();
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    }
    // Every node must agree before clients use it.
    for (const p of ports) {
      const r = new Redis({ port: p, maxRetriesPerRequest: 1 });
      try {
        for (let i = 0; i < 200 && !String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok'); i++) await new Promise((res) => setTimeout(res, 50));
      } finally {
        r.disconnect();
      }
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
    await Promise.all(
      this.procs.map(async (p) => {
        if (p.exitCode !== null) return;
        const exited = once(p, 'exit');
        p.kill('SIGTERM');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
