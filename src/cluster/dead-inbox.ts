// A dead member's inbox, for the sessions that leave it.
//
// QoS 1/2 messages forwarded to member B are XADDed to B's inbox stream and acknowledged to
// their publishers once Redis has them (router.ts, node.ts). B takes an entry out of the
// stream (XACK + XDEL) only in the same commit as what it delivered from it
// (node.ts readInbox, RedisStore.commitWith), so whatever is still in the stream is exactly
// what B's sessions have not got. When B dies, its sessions leave it one by one: taken by a
// client reconnecting to another member (ClusterSessions.acquire, owner B and B's heartbeat
// gone) or adopted by the survivor that publishes B's wills (publishWillsOf). Each time a
// session leaves a dead B, the member taking it delivers the entries still in B's inbox to
// that session only (its own clients got their own copies through its own inbox), in the
// stream's order, in the same store commit as the session becomes its own. A session leaves
// B once (a compare-and-set on its owner), so each entry reaches it at most once this way.
//
// The entries stay for B's other sessions; the stream is deleted once B's index of sessions
// is empty and B is still dead (RedisStore.dropNodeIfEmpty's caller). B restarted under its
// name reads what is left for the sessions it still holds, as before.
//
// What remains (docs/clustering-sessions.md): an entry XADDed to B after the session left it
// (a sender that had not yet seen B dead, nodeTimeout plus a heartbeat at most) reaches only
// the sessions B still holds.

import { LocalRouter } from '../broker/router.js';
import { storedSubscription, type Session } from '../broker/session.js';
import type { Message } from '../message.js';
import type { RedisClient } from '../store/redis/connect.js';
import { decodeMessage } from './wire.js';

/** The record kinds of a forward frame (router.ts). */
const TO_SUBSCRIBERS = 0;
const TO_GROUP = 1;
const PAGE = 256;

export interface DeadInboxStats {
  /** Entries of dead members' inboxes read for sessions leaving them, and messages delivered from them. */
  entriesRead: number;
  messagesDelivered: number;
  /** Dead members' inboxes deleted once none of their sessions was left. */
  inboxesRetired: number;
  /** Entries' messages not delivered: the session had its copy through this node already. */
  duplicatesSkipped: number;
}

/** The messages of one forward frame: `group` set for a shared group's (its `$share/g/f` filter). */
export function* frameMessages(data: Buffer): Generator<{ group: string | undefined; id: string; message: Message }> {
  const originLen = data.readUInt16BE(0);
  let o = 2 + originLen;
  while (o < data.length) {
    const kind = data[o]!;
    const keyLen = data.readUInt16BE(o + 1);
    const key = data.toString('utf8', o + 3, o + 3 + keyLen);
    o += 3 + keyLen;
    const len = data.readUInt32BE(o);
    o += 4;
    const body = data.subarray(o, o + len);
    o += len;
    if (kind === TO_SUBSCRIBERS) yield { group: undefined, id: key, message: decodeMessage(body) };
    else if (kind === TO_GROUP) yield { group: key, id: '', message: decodeMessage(body) };
    // Pings and pongs travel over pub/sub only.
  }
}

/**
 * Delivers every message still in `inbox` (a dead member's) that `session`'s subscriptions
 * match, to `session` alone. Bad entries are counted and skipped, never thrown. Resolves to
 * the messages delivered; the caller commits the session's store records.
 */
export async function deliverDeadInbox(
  redis: RedisClient,
  inbox: string,
  session: Session,
  access: { readonly deliveryCheck?: ((session: Session, message: Message) => boolean) | undefined },
  stats: DeadInboxStats,
  /** Read only entries after this id ('-': all); the result says how far it read. */
  after: string,
  /** A message this node saw forwarded since then reached the session here already. */
  seen: (id: string) => boolean,
  /** Told the forward id of each message delivered to the session. */
  delivered: (id: string) => void = () => undefined,
): Promise<{ delivered: number; last: string }> {
  if (session.subscriptions.size === 0) return { delivered: 0, last: after };
  const { plain, groups } = sessionRouter(session, access);
  let count = 0;
  let from = after === '-' ? '-' : `(${after}`;
  let last = after;
  const read = redis as unknown as { xrangeBuffer(...args: Array<string | number>): Promise<Array<[Buffer, Buffer[] | null]>> };
  for (;;) {
    const entries = await read.xrangeBuffer(inbox, from, '+', 'COUNT', PAGE);
    for (const [id, fields] of entries) {
      stats.entriesRead++;
      if (fields === null || fields.length < 2) continue;
      try {
        for (const { group, id: mid, message } of frameMessages(fields[1]!)) {
          if (mid !== '' && seen(mid)) {
            stats.duplicatesSkipped++;
            continue;
          }
          const n = group === undefined ? plain.publish(message) : (groups.get(group)?.publish(message) ?? 0);
          if (n > 0 && mid !== '') delivered(mid);
          count += n;
        }
      } catch {
        // An entry this member cannot read (another version): left in the stream.
      }
      last = id.toString();
      from = `(${last}`;
    }
    if (entries.length < PAGE) break;
  }
  stats.messagesDelivered += count;
  return { delivered: count, last };
}

/**
 * The ids of the QoS 1/2 messages this node forwarded or received, each with when it was
 * seen (a counter), while some session taken from a dead node may still get entries of that
 * node's inbox: one of them is a duplicate for that session if the node saw its id after
 * the session was subscribed here (its own router delivered it). Kept only while a window is
 * open, and at most `max` ids (the oldest go first).
 */
export class SeenForwards {
  private readonly ids = new Map<string, number>();
  private clock = 0;
  private until = 0;

  constructor(private readonly max: number) {}

  /** Starts (or extends) a window of `ms`; resolves to the mark a session's drains compare with. */
  open(ms: number): number {
    this.until = Math.max(this.until, Date.now() + ms);
    return ++this.clock;
  }

  /** True while a window is open (noting ids costs nothing otherwise). */
  get active(): boolean {
    return this.until !== 0;
  }

  note(id: string): void {
    if (this.until === 0) return;
    if (Date.now() > this.until) {
      this.until = 0;
      this.ids.clear();
      return;
    }
    this.ids.set(id, ++this.clock);
    if (this.ids.size > this.max) this.ids.delete(this.ids.keys().next().value!);
  }

  /** When `id` was seen (0: not, or forgotten). */
  at(id: string): number {
    return this.ids.get(id) ?? 0;
  }

  /** The counter now: the end of a session's stay here. */
  get now(): number {
    return this.clock;
  }

  /** Whether `id` was seen at or after `mark`. */
  since(id: string, mark: number): boolean {
    return (this.ids.get(id) ?? 0) >= mark;
  }
}

type Access = { readonly deliveryCheck?: ((session: Session, message: Message) => boolean) | undefined };

/** The session's own subscriptions in a router of their own, groups apart: a "to group g" entry reaches g only, as in ClusterRouter.receive. */
function sessionRouter(session: Session, access: Access): { plain: LocalRouter; groups: Map<string, LocalRouter> } {
  const plain = new LocalRouter(access);
  const groups = new Map<string, LocalRouter>();
  for (const s of session.subscriptions.values()) {
    const sub = storedSubscription(s);
    if (s.topicFilter.startsWith('$share/')) {
      let r = groups.get(s.topicFilter);
      if (r === undefined) groups.set(s.topicFilter, (r = new LocalRouter(access)));
      r.subscribe(session, sub);
    } else plain.subscribe(session, sub);
  }
  return { plain, groups };
}

/** Delivers `message` to `session` alone, as its subscriptions match it (a handover's passed-on copy). */
export function deliverTo(session: Session, message: Message, access: Access): number {
  return sessionRouter(session, access).plain.publish(message);
}
