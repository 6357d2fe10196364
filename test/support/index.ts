/**
 * The typed toolkit of the tests, the benchmark and the demo: the sandbox (status, Asterisk CLI, ARI,
 * configuration), an AMI test client, calls through Local channels and SIPp, consent-ivr instances
 * and the CLI, Redis servers of a test's own, and reading recordings.
 */
export * from './ami';
export * from './audio';
export * from './calls';
export * from './redis-server';
export * from './sandbox';
export * from './service';
export * from './sipp';
export * from './wait';
export * from './records';
