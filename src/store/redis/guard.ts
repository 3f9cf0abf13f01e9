// A group commit whose writes of a client's session and will apply only while this node
// still holds the client id (its owner record, src/store/redis/owner.ts). A node cut off
// from Redis longer than cluster.nodeTimeout is declared dead and a survivor adopts its
// sessions; when Redis comes back, the cut-off node's queued commits reach Redis first
// (its connection replays them in order), and without this check they would write session
// state it no longer owns over the adopter's, taking the session back in time.
//
// One Lua script per commit (per slot on a Redis Cluster): atomic like the MULTI/EXEC it
// replaces, and the owner is read in the same atomic step as the writes, so no claim can
// land between the check and the write. The owner hash sits in the session's slot.
//
// A client id with no owner record is written (a standalone Redis store claims none for its
// new sessions; a session that ended here dropped its record before its last commit went).
// Only a record naming another node refuses the writes.

import type { RedisClient } from './connect.js';

/**
 * KEYS: every key the ops touch. ARGV[1]: this node. Then per op: command, index of its key
 * in KEYS, index of its client's owner key in KEYS (0: not guarded), argument count, args.
 * Returns the KEYS indexes of the owner records that refused their client's writes.
 */
const COMMIT = `
local me = ARGV[1]
local verdict = {}
local refused = {}
local i = 2
local n = #ARGV
while i <= n do
  local cmd = ARGV[i]
  local k = tonumber(ARGV[i + 1])
  local g = tonumber(ARGV[i + 2])
  local c = tonumber(ARGV[i + 3])
  local ok = true
  if g > 0 then
    ok = verdict[g]
    if ok == nil then
      local owner = redis.call('HGET', KEYS[g], 'node')
      ok = (not owner) or owner == me
      verdict[g] = ok
      if not ok then refused[#refused + 1] = g end
    end
  end
  if ok then
    if c > 0 then redis.call(cmd, KEYS[k], unpack(ARGV, i + 4, i + 3 + c)) else redis.call(cmd, KEYS[k]) end
  end
  i = i + 4 + c
end
return refused`;

const NAME = 'starlingGuardedCommit';

/** One queued store write: command, key, arguments. */
export type Op = [string, ...Array<string | Buffer>];

/** Defines the script on a connection (once; ioredis sends EVALSHA and falls back to EVAL). */
export function defineGuardedCommit(redis: RedisClient): void {
  if ((redis as unknown as Record<string, unknown>)[NAME] !== undefined) return;
  redis.defineCommand(NAME, { lua: COMMIT });
}

/**
 * Sends `ops` as one guarded commit. `owners[i]` is the owner key guarding `ops[i]`
 * (undefined: unguarded). Resolves to the owner keys whose clients' writes were refused.
 */
export async function guardedCommit(redis: RedisClient, node: string, ops: readonly Op[], owners: readonly (string | undefined)[]): Promise<string[]> {
  const keys: string[] = [];
  const index = new Map<string, number>();
  const at = (key: string): number => {
    let i = index.get(key);
    if (i === undefined) {
      keys.push(key);
      i = keys.length;
      index.set(key, i);
    }
    return i;
  };
  const argv: Array<string | Buffer> = [node];
  ops.forEach((op, j) => {
    const [cmd, key, ...args] = op;
    const owner = owners[j];
    argv.push(cmd, String(at(key as string)), owner === undefined ? '0' : String(at(owner)), String(args.length), ...args);
  });
  const run = (redis as unknown as Record<string, (...a: unknown[]) => Promise<number[]>>)[NAME]!;
  // As arrays (ioredis flattens them), not spread: a commit handing over a session with a
  // long queue has more arguments than a function call can take.
  const refused = await run.call(redis, keys.length, keys, argv);
  return refused.map((i) => keys[i - 1]!);
}
