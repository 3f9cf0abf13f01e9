// Read-only views and a few verbs for operations: what the admin API, $SYS, /metrics and
// (later) the dashboard show of clients, sessions, subscriptions and retained messages, as
// plain JSON-ready objects. Operations code reads these instead of the broker's fields, so
// the core can change its insides without breaking them.

import { isUtf8 } from 'node:buffer';
import type { Will } from '../codec/types.js';
import type { Message } from '../message.js';
import type { Broker } from './broker.js';
import type { ConnectedClient } from './peer.js';
import { storedSubscription, type Session } from './session.js';

export interface SubscriptionView {
  readonly filter: string;
  readonly qos: number;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: number;
  readonly subscriptionId?: number;
}

export interface SessionView {
  readonly sessionExpiryInterval: number;
  readonly queued: number;
  readonly inflight: number;
  readonly subscriptionCount: number;
  readonly subscriptions?: SubscriptionView[];
}

export interface ClientView extends Partial<SessionView> {
  readonly id: string;
  readonly connected: boolean;
  readonly address?: string;
  readonly listener?: string;
  readonly username?: string | null;
  readonly protocolVersion?: number;
  readonly keepAlive?: number;
  readonly connectedAt?: string;
  readonly lastSeen?: string;
  /** The will as it stands (client detail only): its payload is not shown, only its size. */
  readonly will?: WillView | null;
}

export interface WillView {
  readonly topic: string;
  readonly qos: number;
  readonly retain: boolean;
  readonly payloadBytes: number;
  readonly delayInterval: number;
}

export interface RetainedView {
  readonly topic: string;
  readonly payload: string;
  readonly encoding: 'utf8' | 'base64';
  readonly qos: number;
  readonly expiresAt?: string;
  readonly contentType?: string;
}

export class BrokerViews {
  constructor(private readonly broker: Broker) {}

  get clientCount(): number {
    return this.broker.clients.size;
  }

  get sessionCount(): number {
    return this.broker.sessions.size;
  }

  get subscriptionCount(): number {
    return this.broker.router.size;
  }

  get retainedCount(): number {
    return this.broker.retained.size;
  }

  /** Connected clients, the first `limit` of them. */
  clients(limit: number): { total: number; clients: ClientView[] } {
    const out: ClientView[] = [];
    for (const c of this.broker.clients.values()) {
      if (out.length >= limit) break;
      out.push(this.connected(c, false));
    }
    return { total: this.broker.clients.size, clients: out };
  }

  /** A connected client, or a session whose client is away; undefined when neither exists. */
  client(id: string): ClientView | undefined {
    const c = this.broker.clients.get(id);
    if (c !== undefined) return this.connected(c, true);
    const session = this.broker.sessions.get(id);
    return session === undefined ? undefined : { id, connected: false, ...describeSession(session, true) };
  }

  /** Subscriptions of one session or of all, the first `limit` of them. */
  subscriptions(clientId: string | undefined, limit: number): { total: number; subscriptions: Array<SubscriptionView & { clientId: string }> } {
    const out: Array<SubscriptionView & { clientId: string }> = [];
    let total = 0;
    const one = clientId === undefined ? undefined : this.broker.sessions.get(clientId);
    const sessions = clientId === undefined ? this.broker.sessions.values() : one === undefined ? [] : [one];
    for (const session of sessions) {
      for (const sub of session.subscriptions.values()) {
        total++;
        if (out.length < limit) out.push({ clientId: session.clientId, ...storedSubscription(sub) });
      }
    }
    return { total, subscriptions: out };
  }

  /** Retained messages whose topics match `filter` (a valid filter), the first `limit`. */
  retained(filter: string, limit: number): { total: number; messages: RetainedView[] } {
    const messages = this.broker.retained.match(filter);
    return { total: messages.length, messages: messages.slice(0, limit).map(describeMessage) };
  }

  /** Disconnects a connected client (5.0: DISCONNECT with `reasonCode`); false when none has this id. */
  disconnect(id: string, reasonCode = 0x98): boolean {
    const c = this.broker.clients.get(id);
    if (c === undefined) return false;
    this.broker.log.info({ clientId: id, remote: c.remoteAddress }, 'disconnecting a client (operator)');
    c.disconnect(reasonCode, 'disconnected by an operator');
    return true;
  }

  /**
   * Deletes the retained message on `topic` (a valid topic name) without routing anything:
   * subscribers are not sent the empty message a client's delete would route. False when
   * there was none.
   */
  deleteRetained(topic: string): boolean {
    if (this.broker.retained.match(topic).length === 0) return false;
    const empty: Message = { topic, payload: Buffer.alloc(0), qos: 0, retain: true };
    this.broker.retained.set(empty);
    this.broker.persistence?.retained(empty);
    return true;
  }

  private connected(c: ConnectedClient, withSubscriptions: boolean): ClientView {
    const session = this.broker.sessions.get(c.id);
    return {
      id: c.id,
      connected: true,
      address: c.remoteAddress,
      listener: c.listener,
      username: c.username ?? null,
      protocolVersion: c.protocolVersion,
      keepAlive: c.keepalive,
      connectedAt: new Date(c.connectedAt).toISOString(),
      lastSeen: new Date(c.lastSeen).toISOString(),
      ...(session !== undefined && describeSession(session, withSubscriptions)),
      ...(withSubscriptions && { will: c.will === undefined ? null : describeWill(c.will) }),
    };
  }
}

function describeSession(session: Session, withSubscriptions: boolean): SessionView {
  return {
    sessionExpiryInterval: session.expiryInterval,
    queued: session.queued,
    inflight: session.inflight.size,
    subscriptionCount: session.subscriptions.size,
    ...(withSubscriptions && { subscriptions: [...session.subscriptions.values()].map(storedSubscription) }),
  };
}

function describeWill(w: Will): WillView {
  return { topic: w.topic, qos: w.qos, retain: w.retain, payloadBytes: w.payload.length, delayInterval: w.properties?.willDelayInterval ?? 0 };
}

function describeMessage(m: Message): RetainedView {
  const text = isUtf8(m.payload);
  return {
    topic: m.topic,
    payload: m.payload.toString(text ? 'utf8' : 'base64'),
    encoding: text ? 'utf8' : 'base64',
    qos: m.qos,
    ...(m.expiresAt !== undefined && { expiresAt: new Date(m.expiresAt).toISOString() }),
    ...(m.properties?.contentType !== undefined && { contentType: m.properties.contentType }),
  };
}
