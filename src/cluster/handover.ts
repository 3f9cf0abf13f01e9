// The takeover route gap, closed (docs/clustering-sessions.md, "A client id lives on one
// node at a time").
//
// A persistent session moving from live member A to member B: A withdraws the session's
// filters when it lets the session go, B announces them once it has loaded it, and a member
// C publishing in between used to find no route: a QoS 1/2 message lost where a standalone
// broker queues it. Now A keeps the session as a *ghost* for a while (cluster.nodeTimeout):
// its filters stay announced, and every QoS 1/2 message A routes that matches them (published
// on A, or read from A's inbox) is passed on to B as a record for that one session
// (TO_CLIENT, with the message's forward id), in A's inbox commit. B delivers such a record to
// the session alone (held until the session is loaded, if it is still arriving).
//
// Why no QoS 2 duplicate: a message C routes to both A and B (C has applied B's routes but
// not yet A's withdrawal) carries one forward id in both copies, and C writes both XADDs in
// one commit, so B's direct copy is in B's stream before A can have read its own copy and
// passed it on. B notes the forward ids it routes from the moment the session's
// subscriptions are in its router (SeenForwards, dead-inbox.ts): a passed-on copy whose id
// B noted since then reached the session through B's router already and is dropped. A
// passed-on copy of a message B routed before the session was in its router is delivered:
// the session did not get that one. Messages published on A carry the same id in the
// direct copy and the passed-on one, in one frame, direct first.

import { SubscriptionIndex, MatchResult, SHARE_PREFIX } from '../topics/index.js';

interface Ghost {
  readonly clientId: string;
  readonly node: string;
  readonly filters: readonly string[];
  timer: NodeJS.Timeout;
}

export class Ghosts {
  private readonly index = new SubscriptionIndex<Ghost>();
  private readonly byClient = new Map<string, Ghost>();
  private readonly result = new MatchResult<Ghost>();
  /** Messages passed on (counted by the router's forwards too). */
  passedOn = 0;

  get size(): number {
    return this.byClient.size;
  }

  /**
   * `clientId`'s session went to `node`: its filters (shared ones aside: a group gets its
   * copy from any member) are matched here for `ms`. `hold` keeps a filter announced.
   */
  add(clientId: string, node: string, filters: readonly string[], ms: number, hold: (filter: string, delta: 1 | -1) => void): void {
    this.remove(clientId, hold);
    const own = filters.filter((f) => !f.startsWith(SHARE_PREFIX));
    if (own.length === 0) return;
    const ghost: Ghost = { clientId, node, filters: own, timer: setTimeout(() => this.remove(clientId, hold), ms) };
    ghost.timer.unref();
    this.byClient.set(clientId, ghost);
    for (const f of own) {
      try {
        this.index.add(clientId, f, ghost);
        hold(f, 1);
      } catch {
        // A filter the index refuses was never routed here either.
      }
    }
  }

  /** The ghost of `clientId` goes (its time is up, or the session came back). */
  remove(clientId: string, hold: (filter: string, delta: 1 | -1) => void): void {
    const ghost = this.byClient.get(clientId);
    if (ghost === undefined) return;
    clearTimeout(ghost.timer);
    this.byClient.delete(clientId);
    for (const f of ghost.filters) if (this.index.remove(clientId, f)) hold(f, -1);
  }

  /** The node `clientId`'s session was last given to, while its ghost lasts. */
  nodeOf(clientId: string): string | undefined {
    return this.byClient.get(clientId)?.node;
  }

  /** The ghosts a topic matches, each once. */
  match(topic: string): Ghost[] {
    const r = this.index.match(topic, this.result);
    const out: Ghost[] = [];
    for (const s of r.subscriptions) if (!out.includes(s.value)) out.push(s.value);
    this.passedOn += out.length;
    return out;
  }

  clear(hold: (filter: string, delta: 1 | -1) => void): void {
    for (const id of [...this.byClient.keys()]) this.remove(id, hold);
  }
}
