// Entries keyed by client id, held directly by the object that owns them (a trie node, a
// shared group), so matching walks a plain array one hop from the node. Lookup by client
// id scans while the list is short and uses a Map once it is long: a filter with 100,000
// subscribers still adds and removes in O(1), while the common one-subscriber node pays
// for no Map.

export interface ClientKeyed {
  readonly clientId: string;
}

export interface ClientList<E extends ClientKeyed> {
  items: E[];
  index: Map<string, number> | undefined;
}

/** From this many entries on, a Map from client id to position is kept. */
const INDEX_AT = 16;

/**
 * The initial `items` of every list. Never mutated: set() replaces it (with `[entry]`, which
 * has room for one, where pushing onto `[]` would reserve 17 slots).
 */
export const NO_ITEMS: never[] = Object.freeze([]) as unknown as never[];

export function findClient<E extends ClientKeyed>(list: ClientList<E>, clientId: string): number {
  if (list.index !== undefined) return list.index.get(clientId) ?? -1;
  const items = list.items;
  for (let i = 0; i < items.length; i++) if (items[i].clientId === clientId) return i;
  return -1;
}

export function getClient<E extends ClientKeyed>(list: ClientList<E>, clientId: string): E | undefined {
  const i = findClient(list, clientId);
  return i < 0 ? undefined : list.items[i];
}

/** Adds the entry, or replaces the one with its client id; true when it was new. */
export function setClient<E extends ClientKeyed>(list: ClientList<E>, entry: E): boolean {
  const items = list.items;
  if (items.length === 0) {
    list.items = [entry];
    return true;
  }
  const i = findClient(list, entry.clientId);
  if (i >= 0) {
    items[i] = entry;
    return false;
  }
  items.push(entry);
  if (list.index !== undefined) list.index.set(entry.clientId, items.length - 1);
  else if (items.length >= INDEX_AT) {
    const index = new Map<string, number>();
    for (let j = 0; j < items.length; j++) index.set(items[j].clientId, j);
    list.index = index;
  }
  return true;
}

/** Removes the client's entry by moving the last one into its place; true when found. */
export function deleteClient<E extends ClientKeyed>(list: ClientList<E>, clientId: string): boolean {
  const i = findClient(list, clientId);
  if (i < 0) return false;
  const items = list.items;
  const last = items.pop()!;
  if (i < items.length) {
    items[i] = last;
    list.index?.set(last.clientId, i);
  }
  if (list.index !== undefined) {
    list.index.delete(clientId);
    // Drop the Map well below the threshold, so a list hovering at it does not rebuild it.
    if (items.length < INDEX_AT / 2) list.index = undefined;
  }
  if (items.length === 0) list.items = NO_ITEMS;
  return true;
}
