import { composeObservers, type ServiceObserver } from '../../src/ports/observer';

describe('composeObservers', () => {
  test('When several observers are composed, then each is told every report, in the order given, and absent ones are skipped', () => {
    const heard: string[] = [];
    const recorder = (name: string): ServiceObserver => ({
      callStarted: () => heard.push(`${name} started`),
      decided: (d, ms) => heard.push(`${name} ${d} ${ms}`),
      callEnded: (end, ms) => heard.push(`${name} ended ${end.outcome} ${ms}`),
      sealed: (reason) => heard.push(`${name} sealed ${reason}`),
      checkpointSigned: (ms) => heard.push(`${name} checkpoint ${ms}`),
      deletionsPending: (stats) => heard.push(`${name} pending ${stats.length}`),
      withdrawn: (by) => heard.push(`${name} withdrawn ${by}`),
      paused: (kind) => heard.push(`${name} ${kind}`),
    });
    const both = composeObservers(recorder('a'), null, undefined, recorder('b'));
    both.callStarted?.();
    both.decided?.('accepted', 1200);
    both.stored?.('decision', 'redis'); // neither listens: nothing happens
    both.callEnded?.({ outcome: 'accepted', lang: 'ar', attempts: 1 }, 9000);
    both.sealed?.('call-end');
    both.checkpointSigned?.(12);
    both.deletionsPending?.([{ server: 's', count: 1, oldestAgeMs: 5 }]);
    both.withdrawn?.('agent');
    both.paused?.('pause');
    expect(heard).toEqual([
      'a started', 'b started',
      'a accepted 1200', 'b accepted 1200',
      'a ended accepted 9000', 'b ended accepted 9000',
      'a sealed call-end', 'b sealed call-end',
      'a checkpoint 12', 'b checkpoint 12',
      'a pending 1', 'b pending 1',
      'a withdrawn agent', 'b withdrawn agent',
      'a pause', 'b pause',
    ]);
  });

  test('When a method is a class method, then it runs with its own object', () => {
    class Counter implements ServiceObserver {
      n = 0;
      sealed(): void {
        this.n++;
      }
    }
    const c = new Counter();
    composeObservers(c).sealed?.('stop');
    expect(c.n).toBe(1);
  });
});
