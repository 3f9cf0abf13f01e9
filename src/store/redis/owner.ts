// Which node holds a client id: `keys.owner(clientId)` is a hash {node, epoch}. It only ever
// changes by compare-and-set in Lua, so of two nodes that read the same owner and both try
// to take it, one wins and the other sees the new owner and starts again: a netsplit or a
// race cannot leave both believing they hold the client id.

import type { RedisClient } from './connect.js';

export interface Owner {
  /** '' when nobody holds the client id. */
  readonly node: string;
  readonly epoch: number;
}

const CLAIM = `
local n = redis.call('HGET', KEYS[1], 'node') or ''
local e = redis.call('HGET', KEYS[1], 'epoch') or '0'
if n ~= ARGV[1] or e ~= ARGV[2] then return {0, n, e} end
local ne = tostring(tonumber(e) + 1)
redis.call('HSET', KEYS[1], 'node', ARGV[3], 'epoch', ne)
return {1, ARGV[3], ne}`;

const DROP = `
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

type Reply = [number, string, string];

export async function readOwner(redis: RedisClient, key: string): Promise<Owner> {
  const [node, epoch] = await redis.hmget(key, 'node', 'epoch');
  return { node: node ?? '', epoch: Number(epoch ?? 0) };
}

/**
 * Takes the client id for `node` if its owner is still `expected`; resolves to the owner
 * after the attempt (`won` says whose it is).
 */
export async function claimOwner(redis: RedisClient, key: string, expected: Owner, node: string): Promise<{ won: boolean; owner: Owner }> {
  const [ok, n, e] = (await redis.eval(CLAIM, 1, key, expected.node, String(expected.epoch), node)) as Reply;
  return { won: ok === 1, owner: { node: n, epoch: Number(e) } };
}

/**
 * Lets the client id go, unless another node took it meanwhile. (Only its holder calls this,
 * and another node takes a live holder's client id only after asking it, so the node is
 * enough to compare.)
 */
export async function dropOwner(redis: RedisClient, key: string, node: string): Promise<boolean> {
  return ((await redis.eval(DROP, 1, key, node)) as number) === 1;
}
