// Waiting in tests for something that happens asynchronously (a delivery, a log line, a
// $SYS value). One helper, so that a timeout always names what was awaited instead of a bare
// "condition not met", and so that no test waits forever or carries on past a deadline.

/** What a condition returns while it is not met yet. */
type NotYet = undefined | null | false;

/**
 * Polls `condition` until it returns something other than undefined, null or false, and
 * returns that. Throws, naming `what`, if that has not happened within `ms`. The default is
 * generous because the suite runs on loaded 2-core machines; it is a deadline for a failure,
 * not a measurement, so a passing test never waits for it.
 */
export async function until<T>(
  what: string,
  condition: () => T | NotYet | Promise<T | NotYet>,
  ms = 5000,
  every = 10,
): Promise<Exclude<T, NotYet>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await condition();
    if (v !== undefined && v !== null && v !== false) return v as Exclude<T, NotYet>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
