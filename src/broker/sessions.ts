// The session registry: the one place that says which session a client id has and which
// client holds it. Opening (new, resumed, taken over, Clean Start), releasing when the client
// goes, expiry, deletion and lookup all happen here, with the will rules that go with them
// [MQTT-3.1.2-8], [MQTT-3.1.3-9], [MQTT-3.1.4-3]. A cluster extends this class: ownership of a
// client id across nodes is decided in open() and release().

import type { Message } from '../message.js';
import type { Broker } from './broker.js';
import type { ConnectedClient } from './peer.js';
import { Session } from './session.js';
import { longTimeout } from './timers.js';
import type { ClientInfo } from './types.js';
import { cancelWill, publishWill, settleWill, willClient } from './will.js';

/** What a client asks of its session when it connects. */
export interface OpenRequest {
  /** Clean Start (5.0) or Clean Session (3.1.1). */
  readonly clean: boolean;
  /** Session Expiry Interval granted, seconds (0xFFFFFFFF: never). */
  readonly expiryInterval: number;
}

export type OpenResult =
  | { readonly ok: true; readonly session: Session; readonly present: boolean }
  /** Refused: the CONNACK reason code (5.0; the caller maps it for 3.1.1). */
  | { readonly ok: false; readonly reasonCode: number; readonly reason: string };

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  /** Connected clients by client id. */
  private readonly connected = new Map<string, ConnectedClient>();

  /**
   * Set by a cluster (src/cluster/sessions.ts): takes the client id for this node, then runs
   * `open` (which calls open()) while no other takeover of it runs; rejects when it cannot.
   */
  acquire: (<T>(clientId: string, clean: boolean, open: () => T) => Promise<T>) | undefined = undefined;

  constructor(private readonly broker: Broker) {}

  // Lookup.

  get size(): number {
    return this.sessions.size;
  }

  get(clientId: string): Session | undefined {
    return this.sessions.get(clientId);
  }

  has(clientId: string): boolean {
    return this.sessions.has(clientId);
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  keys(): IterableIterator<string> {
    return this.sessions.keys();
  }

  /** Connected clients by client id (a read-only view). */
  get clients(): ReadonlyMap<string, ConnectedClient> {
    return this.connected;
  }

  // Open and release.

  /**
   * A client was authenticated: refuse it, or give it its session. A connection that holds
   * the client id already is closed first [MQTT-3.1.4-3] (5.0: DISCONNECT 0x8E); a will
   * waiting on its delay goes out if Clean Start ends the old session and is cancelled if it
   * is resumed [MQTT-3.1.3-9]. The caller sends CONNACK, then calls `session.resume(client)`.
   */
  open(client: ConnectedClient, request: OpenRequest): OpenResult {
    const broker = this.broker;
    const clientId = client.id;
    let session = this.sessions.get(clientId);

    // A session belongs to the identity that made it: resuming another user's session would
    // hand over its queued and in-flight messages, which that user's ACL may deny. Refused
    // like Mosquitto's per-user client id rules refuse: 0x87 Not authorized (3.1.1: 0x05). A
    // Clean Start takes nothing over, and is let through as any client id collision is.
    if (session !== undefined && !request.clean && session.username !== client.username) {
      return { ok: false, reasonCode: 0x87, reason: 'the session belongs to another user' };
    }

    // limits.maxSessions bounds the sessions held, connected or not: a CONNECT that would add
    // one beyond it is refused (5.0 0x97 Quota exceeded; 3.1/3.1.1 0x03 Server unavailable).
    // A client resuming or taking over its own session adds none and is never refused.
    const maxSessions = broker.limits.maxSessions;
    if (maxSessions > 0 && this.sessions.size >= maxSessions && session === undefined) {
      broker.limitHit('sessions', { clientId, remote: client.remoteAddress, sessions: this.sessions.size }, 'CONNECT refused: limits.maxSessions reached');
      return { ok: false, reasonCode: 0x97, reason: 'limits.maxSessions reached' };
    }

    const existing = this.connected.get(clientId);
    if (existing !== undefined && existing !== client) {
      // Its release() decides the old will and expiry (and may end the session).
      existing.disconnect(0x8e, 'session taken over');
      session = this.sessions.get(clientId);
    }

    if (session !== undefined) {
      if (session.expiryTimer) clearTimeout(session.expiryTimer);
      session.expiryTimer = undefined;
      if (request.clean) {
        publishWill(session);
        this.end(session);
        session = undefined;
      } else cancelWill(session);
    }
    const present = session !== undefined;
    if (session === undefined) {
      session = new Session(clientId, broker.limits, broker.drop, broker.persistence, broker.filterBytes);
      this.sessions.set(clientId, session);
    }
    session.expiryInterval = request.expiryInterval;
    session.username = client.username;
    this.connected.set(clientId, client);
    if (session.expiryInterval > 0 || session.stored) broker.persistence?.sessionSaved(session);
    return { ok: true, session, present };
  }

  /**
   * The client holding `session` went: detach it, settle its will (now, after its delay, or
   * never when `will` is undefined) and start the session's expiry.
   */
  release(client: ConnectedClient, session: Session, will: Message | undefined, willDelay: number): void {
    if (this.connected.get(client.id) === client) this.connected.delete(client.id);
    if (session.peer === client) session.peer = undefined;
    if (will !== undefined) settleWill(this.broker, client, session, will, willDelay);
    if (session.stored && session.expiryInterval > 0) this.broker.persistence!.sessionSaved(session, Date.now());
    this.scheduleExpiry(session);
  }

  // Expiry and deletion.

  /** Starts the countdown of a session without a client; `elapsed` ms have run already. */
  scheduleExpiry(session: Session, elapsed = 0): void {
    const expiry = session.expiryInterval;
    if (expiry === 0) {
      this.end(session);
      return;
    }
    if (expiry >= 0xffffffff) return; // never expires
    longTimeout(Math.max(0, expiry * 1000 - elapsed), () => this.expire(session), (t) => (session.expiryTimer = t));
  }

  /** The session's expiry ran out. */
  private expire(session: Session): void {
    session.expiryTimer = undefined;
    // [MQTT-3.1.2-8] a will still waiting on its delay goes out when the session ends.
    if (session.willPublish) publishWill(session);
    this.end(session);
  }

  /** Ends a session: its subscriptions leave the router and its state is gone. */
  end(session: Session): void {
    if (session.expiryTimer) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    const router = this.broker.router;
    for (const filter of session.subscriptions.keys()) router.unsubscribe(session, filter);
    session.clear();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
  }

  /**
   * Deletes a session now (an operator's verb): its client, if connected, is disconnected
   * with 0x98 Administrative action and the session ends with it, will included. False when
   * there is no such session.
   */
  delete(clientId: string): boolean {
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    session.expiryInterval = 0;
    const client = this.connected.get(clientId);
    if (client !== undefined) client.disconnect(0x98, 'session deleted by an operator');
    if (this.sessions.get(clientId) === session) {
      if (session.willPublish) publishWill(session);
      this.end(session);
    }
    return true;
  }

  // Start-up.

  /** A session read back from the store (its client is not connected). */
  restore(clientId: string, expiryInterval: number, username: string | undefined): Session {
    const session = new Session(clientId, this.broker.limits, this.broker.drop, this.broker.persistence, this.broker.filterBytes);
    session.expiryInterval = expiryInterval;
    session.username = username;
    this.sessions.set(clientId, session);
    return session;
  }

  /**
   * The will of a client that was connected (or whose will delay ran) when the broker
   * stopped. It goes out after its delay, counted from now, or when its session ends; a
   * reconnection to the session cancels it.
   */
  restoreWill(client: ClientInfo, message: Message, delay: number): void {
    const session = this.sessions.get(client.id);
    if (session === undefined) willClient(this.broker, client, message)();
    else settleWill(this.broker, client, session, message, delay);
  }

  /** Shutdown: no timer of a session fires any more. */
  stopTimers(): void {
    for (const s of this.sessions.values()) {
      if (s.expiryTimer) clearTimeout(s.expiryTimer);
      if (s.willTimer) clearTimeout(s.willTimer);
    }
  }
}
