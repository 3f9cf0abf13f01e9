// The broker: owns connections, the session registry, the router, retained messages and
// hooks; opens the listeners it is given a factory for. It never touches a socket's bytes
// itself, nor imports a transport: connections decode, handlers decide, the router delivers.
// docs/architecture.md is the map.

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { Listener, ListenerFactory, ListenerHost, PeerIdentity } from '../transport/types.js';
import { Connection } from './connection.js';
import { HookRunner, isPromise, type MaybePromise } from './hooks.js';
import { Persistence } from './persistence.js';
import { MemoryRetainedStore, type RetainedStore } from './retained.js';
import { LocalRouter, type Router, type SubscriptionEntry } from './router.js';
import type { DropReason, Session } from './session.js';
import { SessionRegistry } from './sessions.js';
import type { ConnectedClient } from './peer.js';
import type { StoredSubscription } from '../store/types.js';
import { DEFAULT_LIMITS, type BrokerOptions, type ClientInfo, type Limits, type ListenerInfo, type Message } from './types.js';
import { willDelay, willMessage } from './will.js';
import { Admission } from './rate-limit.js';
import { InProcessClient, type InProcessOptions } from './in-process.js';
import { BrokerViews } from './views.js';
import { FilterBytes } from './bounds.js';

/** Why a connection, publish or login was held back by a limit; each has a counter. */
export type LimitName = 'connections' | 'connect_rate' | 'publish_rate' | 'byte_rate' | 'auth_failure' | 'retained' | 'sessions' | 'connect_packet' | 'subscriptions' | 'subscription_bytes';

export interface BrokerStats {
  connectionsAccepted: number;
  messagesReceived: number;
  messagesSent: number;
  /** Bytes read from and written to clients' streams (after TLS and WebSocket framing are removed). */
  bytesReceived: number;
  bytesSent: number;
  /** MQTT packets of every type received and sent. */
  packetsReceived: number;
  packetsSent: number;
  /** PUBLISH packets received from clients and sent to them, indexed by QoS. */
  publishReceived: [number, number, number];
  publishSent: [number, number, number];
  dropped: Record<DropReason, number>;
  protocolErrors: Record<number, number>;
  /** Times each limit was hit (a refused connection, a throttled publish, a failed login). */
  limited: Record<LimitName, number>;
}

export interface BrokerEvents {
  clientConnected: [client: ClientInfo];
  clientDisconnected: [client: ClientInfo, reason: string];
  published: [message: Message, client: ClientInfo | undefined];
  /** The durable store finished one commit: how long it took, and how many records it held. */
  storeCommit: [durationMs: number, records: number];
  /** A store commit failed: what was not yet durable will not be acknowledged. */
  storeError: [error: Error];
}

export class Broker extends EventEmitter<BrokerEvents> implements ListenerHost {
  readonly options: BrokerOptions;
  /** The limits in force; change them with setLimits(). */
  readonly limits: Readonly<Limits>;
  readonly log: Logger;
  readonly hooks: HookRunner;
  /** Today's router: the subscription index and matching on this node. */
  readonly localRouter: LocalRouter;
  /** What the broker routes through: the local router, or a decorator of it (BrokerOptions.router). */
  readonly router: Router;
  readonly retained: RetainedStore = new MemoryRetainedStore();
  /** Writes state through to the store, when there is one (BrokerOptions.store). */
  readonly persistence: Persistence | undefined;
  /** True once the store is read back and every listener is open. */
  ready = false;
  /** Sessions by client id, and who holds them. */
  readonly sessions = new SessionRegistry(this);
  /** Read-only views and verbs for operations (the admin API, $SYS, metrics). */
  readonly views = new BrokerViews(this);
  /** Every open network connection, connected or not yet. */
  readonly connections = new Set<Connection>();
  /** Connect rate and connection bounds, checked at CONNECT. */
  readonly admission = new Admission(this);
  /** Filter bytes of all sessions' subscriptions (limits.maxSubscriptionBytes, bounds.ts). */
  readonly filterBytes = new FilterBytes();
  readonly stats: BrokerStats = {
    connectionsAccepted: 0,
    messagesReceived: 0,
    messagesSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    packetsReceived: 0,
    packetsSent: 0,
    publishReceived: [0, 0, 0],
    publishSent: [0, 0, 0],
    dropped: { queue_full: 0, offline_qos0: 0, backpressure: 0, expired: 0, too_large: 0 },
    protocolErrors: {},
    limited: { connections: 0, connect_rate: 0, publish_rate: 0, byte_rate: 0, auth_failure: 0, retained: 0, sessions: 0, connect_packet: 0, subscriptions: 0, subscription_bytes: 0 },
  };

  private readonly servers: Listener[] = [];
  private sweep: NodeJS.Timeout | undefined;
  private closing = false;
  /**
   * Sessions count their drops through this. A full queue also warns (at most once a minute),
   * as Mosquitto's "Outgoing messages are being dropped": those are QoS 1/2 messages lost.
   */
  readonly drop = (reason: DropReason, _message?: Message, clientId?: string): void => {
    this.countDrop(reason);
    if (reason !== 'queue_full') return;
    const { maxQueuedMessages, maxQueuedBytes } = this.limits;
    this.warnAtMost(
      reason,
      { clientId, dropped: this.stats.dropped.queue_full, maxQueuedMessages, maxQueuedBytes },
      "a session's queue is full (limits.maxQueuedMessages, limits.maxQueuedBytes): messages for it are dropped",
    );
  };
  /** When each limit (or full queue) last logged a warning: a flood at a bound writes one line a minute. */
  private readonly warned = new Map<LimitName | 'queue_full', number>();

  /**
   * `openListener` builds the listeners of `options.listeners`; createBroker() gives it the
   * transports of src/transport/. Without one, the broker only accepts what is handed to it
   * (accept(), client()).
   */
  constructor(
    options: BrokerOptions = {},
    private readonly openListener?: ListenerFactory,
  ) {
    super();
    this.options = options;
    this.limits = clampLimits({ ...DEFAULT_LIMITS, ...options.limits });
    this.hooks = new HookRunner(options.hooks ?? []);
    this.localRouter = new LocalRouter(this.hooks);
    this.router = options.router?.(this.localRouter) ?? this.localRouter;
    const store = options.store;
    if (store !== undefined) {
      this.persistence = new Persistence(this, store);
      store.onCommit = (ms, records) => {
        if (this.listenerCount('storeCommit') > 0) this.emit('storeCommit', ms, records);
      };
    }
    this.log =
      options.logLevel === false
        ? pino({ enabled: false })
        : pino({ level: options.logLevel ?? 'info', base: { name: 'starling' } }, options.logDestination ?? pino.destination(1));
  }

  /** Opens every configured listener (default: TCP 127.0.0.1:1883). */
  async listen(): Promise<ListenerInfo[]> {
    const persistence = this.persistence;
    if (persistence !== undefined) {
      const t0 = performance.now();
      const restored = persistence.restore(await persistence.store.open());
      const ms = Math.round(performance.now() - t0);
      this.log.info({ store: persistence.store.kind, ...restored, ms }, 'store opened');
    }
    const configs = this.options.listeners ?? [{}];
    if (configs.length > 0 && this.openListener === undefined) throw new Error('this broker was made without listener kinds: use createBroker()');
    for (const config of configs) {
      const l = this.openListener!(config, this);
      await l.open();
      this.admission.limitListener(l.info.name, config.maxConnections);
      this.servers.push(l);
      const where = l.info.type === 'unix' ? l.info.path : `${l.info.host}:${l.info.port}`;
      this.log.info({ listener: l.info.name }, `listening on ${where}`);
    }
    this.sweep = setInterval(() => this.checkTimeouts(), 500);
    this.sweep.unref();
    this.ready = true;
    return this.servers.map((l) => l.info);
  }

  /**
   * Re-reads the certificate files of TLS and WSS listeners (SIGHUP). Connections stay up;
   * a listener whose new files are bad keeps its old certificate. Resolves to the errors.
   */
  async reloadCertificates(): Promise<Error[]> {
    const results = await Promise.allSettled(this.servers.map((l) => l.reloadCertificates?.()));
    return results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  }

  /** The listeners' addresses, once listening. */
  get addresses(): ListenerInfo[] {
    return this.servers.map((l) => l.info);
  }

  /**
   * Hands a byte stream to the broker as a new client connection. Listeners call this; so
   * can an embedding program with any Duplex (a WebSocket stream, a test pair).
   */
  accept(socket: Duplex, listener: ListenerInfo, remoteAddress: string, peer?: PeerIdentity): Connection | undefined {
    if (this.closing) {
      socket.destroy();
      return undefined;
    }
    const conn = new Connection(this, socket, listener, remoteAddress, peer);
    this.connections.add(conn);
    this.admission.opened(conn);
    this.stats.connectionsAccepted++;
    return conn;
  }

  /**
   * Publishes a message from the embedding program: routed like a client's, with no
   * authorization step. Returns the number of sessions it was handed to.
   */
  publish(message: Message): number {
    const interval = message.properties?.messageExpiryInterval;
    if (interval !== undefined && message.expiresAt === undefined) {
      // [MQTT-3.3.2-5], [MQTT-3.3.2-6]: expiry counts from now, like a client's publish.
      message = { ...message, expiresAt: Date.now() + interval * 1000 };
    }
    if (message.retain) this.retain(message);
    return this.route(message, undefined);
  }

  /** Routes an accepted message (retained storage is the caller's part). */
  route(message: Message, from: ClientInfo | undefined): number {
    this.stats.messagesReceived++;
    if (this.listenerCount('published') > 0) this.emit('published', message, from);
    return this.router.publish(message);
  }

  /**
   * The publish pipeline shared by PUBLISH packets and wills: authorize, let onPublish
   * hooks rewrite or drop, store if retained, route. Resolves to 0x00, 0x10 (no matching
   * subscribers) or the denial's reason code. `refusable`: the sender can be told a publish
   * failed (a 5.0 QoS 1/2 PUBLISH), so a retained message beyond the retained bounds is
   * refused with 0x97 rather than routed without being stored.
   */
  publishFrom(client: ClientInfo, message: Message, refusable = false): MaybePromise<number> {
    if (!this.hooks.hasPublishHooks) return this.accepted(client, message, refusable);
    const verdict = this.hooks.authorizePublish(client, message);
    const after = (v: { ok: boolean; reasonCode?: number }): MaybePromise<number> => {
      if (!v.ok) return v.reasonCode ?? 0x87;
      const rewritten = this.hooks.onPublish(client, message);
      return isPromise(rewritten)
        ? rewritten.then((m) => (m === null ? 0 : this.accepted(client, m, refusable)))
        : rewritten === null
          ? 0
          : this.accepted(client, rewritten, refusable);
    };
    return isPromise(verdict) ? verdict.then(after) : after(verdict);
  }

  private accepted(client: ClientInfo, message: Message, refusable: boolean): number {
    if (message.retain && this.options.retainAvailable !== false) {
      // A reason code of 0x80 or more says the publish failed: not delivered at all
      // (MQTT 5.0 sections 3.4.2.1, 3.5.2.1). Without one to give, it goes out unretained.
      if (!this.retain(message, client.id) && refusable) return 0x97;
    }
    return this.route(message, client) > 0 ? 0x00 : 0x10;
  }

  /**
   * Stores a retained message (or deletes one) unless it would take the retained store
   * beyond limits.maxRetainedMessages or maxRetainedBytes; false when it was not stored.
   */
  private retain(message: Message, clientId?: string): boolean {
    const { maxRetainedMessages, maxRetainedBytes } = this.limits;
    if (!this.retained.admits(message, maxRetainedMessages, maxRetainedBytes)) {
      this.limitHit('retained', { clientId, topic: message.topic, bytes: message.payload.length, retained: this.retained.size, retainedBytes: this.retained.bytes }, 'retained message not stored: limits.maxRetainedMessages or maxRetainedBytes reached');
      return false;
    }
    this.retained.set(message);
    this.persistence?.retained(message);
    return true;
  }

  /** Connected clients by client id: network connections and in-process clients. */
  get clients(): ReadonlyMap<string, ConnectedClient> {
    return this.sessions.clients;
  }

  /**
   * A client inside this process (bridges, the dashboard, an embedding program): it
   * connects like a 5.0 client, publishes and subscribes through the same hooks, and its
   * session is an ordinary one (persistent when `sessionExpiry` > 0).
   */
  client(options: InProcessOptions): Promise<InProcessClient> {
    return InProcessClient.connect(this, options);
  }

  /** Adds (or replaces) a subscription of a session: in the router, the session and the store. */
  subscribe(session: Session, sub: StoredSubscription): SubscriptionEntry {
    const entry = this.router.subscribe(session, sub);
    session.setSubscription(sub.filter, {
      topicFilter: sub.filter,
      qos: sub.qos,
      noLocal: sub.noLocal,
      retainAsPublished: sub.retainAsPublished,
      retainHandling: sub.retainHandling,
      ...(sub.subscriptionId !== undefined && { subscriptionId: sub.subscriptionId }),
    });
    this.persistence?.subscribed(session, sub);
    return entry;
  }

  /** Removes a subscription; false when the session had none with this filter. */
  unsubscribe(session: Session, filter: string): boolean {
    if (!session.deleteSubscription(filter)) return false;
    this.router.unsubscribe(session, filter);
    this.persistence?.unsubscribed(session, filter);
    return true;
  }

  /**
   * Resolves once every change recorded so far is durable (undefined: it is, or there is no
   * store). Acknowledgements that promise durability wait for it.
   */
  durable(): Promise<void> | undefined {
    return this.persistence?.flush();
  }

  /** The retained messages whose topics match `filter`. */
  retainedMatching(filter: string): readonly Message[] {
    return this.retained.match(filter);
  }

  /** Changes limits at run time (a config reload); the same clamps apply as at start. */
  setLimits(changes: Partial<Limits>): void {
    Object.assign(this.limits, clampLimits({ ...this.limits, ...changes }));
  }

  /** A connection closed: release its session (will, expiry), or log a refused CONNECT. */
  onClose(conn: Connection, wasConnected: boolean, reason: string): void {
    this.connections.delete(conn);
    this.admission.closed(conn);
    const session = conn.session;
    if (!wasConnected || session === undefined) {
      // A refused CONNECT is worth an info line; a socket that never sent one (a port scan,
      // a health check) only a debug one.
      if (conn.connect !== undefined) {
        this.log.info({ clientId: conn.id || conn.connect.clientId, remote: conn.remoteAddress, protocolVersion: conn.protocolVersion, reason }, 'client refused');
      } else this.log.debug({ remote: conn.remoteAddress, reason }, 'connection closed before CONNACK');
      return;
    }
    // On a takeover the new connection closes this one before it attaches the session, so
    // this path decides the old will and expiry too; the new CONNECT then ends the session
    // (Clean Start, sending a delayed will) or resumes it (cancelling one) [MQTT-3.1.4-3].
    if (conn.willCleared) this.persistence?.willSettled(conn.id);
    this.sessions.release(conn, session, conn.willCleared ? undefined : willMessage(conn), willDelay(conn));
    this.log.info({ clientId: conn.id, remote: conn.remoteAddress, protocolVersion: conn.protocolVersion, reason }, 'client disconnected');
    this.left(conn, reason);
  }

  /** A connected client (network or in-process) is gone: events and hooks. */
  left(client: ClientInfo, reason: string): void {
    if (this.listenerCount('clientDisconnected') > 0) this.emit('clientDisconnected', client, reason);
    this.notify(this.hooks.onDisconnect(client, reason));
  }

  /** A client was accepted and its CONNACK sent: events and hooks. */
  joined(client: ClientInfo): void {
    if (this.listenerCount('clientConnected') > 0) this.emit('clientConnected', client);
    this.notify(this.hooks.onConnect(client));
  }

  /** A store commit failed: nothing more can be acknowledged as durable. */
  storeFailed(err: Error): void {
    this.log.fatal({ err: err.message }, 'store commit failed: acknowledgements stop until a restart');
    if (this.listenerCount('storeError') > 0) this.emit('storeError', err);
  }

  /** Logs a hook's failure instead of letting it escape. */
  notify(p: void | Promise<unknown>): void {
    if (p) p.catch((err: unknown) => this.log.error({ err }, 'hook failed'));
  }

  countDrop(reason: DropReason): void {
    this.stats.dropped[reason]++;
  }

  countLimit(limit: LimitName): void {
    this.stats.limited[limit]++;
  }

  /** Counts a limit's hit and warns, at most once a minute per limit. */
  limitHit(limit: LimitName, fields: Record<string, unknown>, message: string): void {
    this.countLimit(limit);
    this.warnAtMost(limit, { ...fields, limit, hits: this.stats.limited[limit] }, message);
  }

  private warnAtMost(what: LimitName | 'queue_full', fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const last = this.warned.get(what);
    if (last !== undefined && now - last < 60_000) return;
    this.warned.set(what, now);
    this.log.warn(fields, message);
  }

  countProtocolError(reasonCode: number): void {
    this.stats.protocolErrors[reasonCode] = (this.stats.protocolErrors[reasonCode] ?? 0) + 1;
  }

  /**
   * Keep alive [MQTT-3.1.2-22]: 1.5 times the interval without a packet closes it. The sweep
   * runs every 500 ms, so a timeout lands up to half a second late.
   */
  private checkTimeouts(): void {
    const now = Date.now();
    for (const conn of this.connections) {
      if (conn.state === 'connected') {
        if (conn.keepalive > 0 && now - conn.lastSeen > conn.keepalive * 1500) {
          conn.disconnect(0x8d, 'keep alive timeout');
        }
      } else if (now - conn.acceptedAt > this.limits.connectTimeout) {
        // No CONNECT, or a connect that never completes (an AUTH exchange left unanswered,
        // an authenticate hook that never settles).
        conn.close('not connected in time');
      }
    }
  }

  /**
   * Graceful shutdown: stop accepting, tell 5.0 clients 0x8B Server shutting down, publish
   * wills of connections that close this way [MQTT-3.1.2-8], and close the listeners.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.sweep) clearInterval(this.sweep);
    const closing = this.servers.map((l) => l.close());
    for (const client of [...this.connections, ...this.sessions.clients.values()]) client.disconnect(0x8b, 'server shutting down');
    this.sessions.stopTimers();
    await Promise.all(closing);
    this.ready = false;
    await this.persistence?.store.close();
    this.log.info('broker stopped');
    this.log.flush?.();
  }
}

/** Limits as the broker applies them: at most 65,535 packet ids can be in flight. */
function clampLimits(limits: Limits): Limits {
  if (limits.maxInflight > 65_535) limits.maxInflight = 65_535;
  return limits;
}
