// Waiting for a condition in a test: polls until it holds, and fails naming what it waited for.

/** Resolves once `condition()` is true (or returns a value other than undefined/false); throws after `ms`. */
export async function until<T>(what: string, condition: () => T | undefined | false, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = condition();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
