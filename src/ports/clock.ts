/** Time and timers, so the runner and the app can be driven by a fake clock in unit tests. */
export interface Clock {
  now(): Date;
  /**
   * Runs `fn` once after `ms`. A `background` timer does not keep the process alive on its own
   * (housekeeping, and bounds on waits that must not hold up the process's exit).
   */
  setTimeout(fn: () => void, ms: number, opts?: { background?: boolean }): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms, opts) {
    const t = setTimeout(fn, ms);
    if (opts?.background) t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * Runs `work` every `intervalMs` on a clock, one run at a time: `runNow()` joins the run in progress
 * or starts one, and `stop()` cancels the next run and waits for the current one. `work` reports its
 * own failures; a rejection only ends that run.
 */
export class Periodic<T> {
  private timer: { cancel(): void } | null = null;
  private running: Promise<T> | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly work: () => Promise<T>,
  ) {}

  /** Starts the runs: the first after `firstInMs` (default: one interval). */
  start(firstInMs = this.intervalMs): void {
    this.schedule(firstInMs);
  }

  runNow(): Promise<T> {
    this.running ??= this.work().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** A run is in progress. */
  get busy(): boolean {
    return this.running !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      void this.runNow()
        .catch(() => undefined)
        .finally(() => this.schedule(this.intervalMs));
    }, ms);
  }
}
