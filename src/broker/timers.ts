// setTimeout holds at most 2^31-1 ms (about 24.8 days); a session expiry or will delay may be
// up to 2^32-1 seconds. Longer delays are re-armed in steps.

const MAX_TIMER_MS = 0x7fffffff;

/** Runs `fn` after `ms`; `store` receives each step's timer so the caller can clear it. */
export function longTimeout(ms: number, fn: () => void, store: (timer: NodeJS.Timeout) => void): void {
  const step = Math.min(ms, MAX_TIMER_MS);
  const timer = setTimeout(() => (ms > step ? longTimeout(ms - step, fn, store) : fn()), step);
  timer.unref();
  store(timer);
}
