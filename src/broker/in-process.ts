// A client inside the broker's own process: what bridges, the dashboard and embedding
// programs use to publish and subscribe without a socket. It is a peer like a network
// connection (peer.ts): it holds an ordinary session in the registry (taken over, resumed,
// persistent, expired like any other), its publishes go through the same authorization
// and rewrite hooks, and its subscriptions through authorizeSubscribe and the read-access
// check. Messages reach the program's callbacks; a QoS 1/2 message is acknowledged once its
// callback returns (or its promise resolves).

import type { QoS, Subscription, PublishProperties } from '../codec/types.js';
import type { Message } from '../message.js';
import { validateTopicName } from '../topics/index.js';
import type { Broker } from './broker.js';
import { isPromise } from './hooks.js';
import type { ConnectedClient } from './peer.js';
import type { Session } from './session.js';
import type { OpenResult } from './sessions.js';
import { addSubscriptions, authorizeSubscriptions, deliverRetained } from './subscriptions.js';

export interface InProcessOptions {
  readonly clientId: string;
  /** The identity hooks and ACLs see (authorizePublish, authorizeSubscribe, read access). */
  readonly username?: string;
  /** Clean Start: a fresh session, discarding any this client id had. Default true. */
  readonly clean?: boolean;
  /** Session Expiry Interval, seconds: 0 (default) ends the session at close(). */
  readonly sessionExpiry?: number;
  /** QoS 1/2 messages handed to callbacks and not yet acknowledged, at most. Default limits.maxInflight. */
  readonly receiveMaximum?: number;
  /**
   * Receives the messages no subscribe() callback claims: those of subscriptions a resumed
   * session kept from before (a restart). Without it such a message stays unacknowledged,
   * and is delivered again the next time this client id resumes its session.
   */
  readonly onMessage?: MessageHandler;
  /** The broker ended this client: taken over by another connection, shut down, or an operator's verb. */
  readonly onClose?: (reasonCode: number, reason: string) => void;
}

/** What a callback learns of one delivery besides the message. */
export interface Delivery {
  /** The QoS it was delivered at: the lower of the message's and the subscription's. */
  readonly qos: QoS;
  /** Set for a retained message sent because of a new subscription, or with Retain As Published. */
  readonly retain: boolean;
  /** Delivered before, unacknowledged (after the session was resumed). */
  readonly dup: boolean;
  /**
   * The session's packet id of a QoS 1/2 delivery (0 for QoS 0). A delivery made again after
   * a restart has the same one: a bridge sends it on under it, so that the remote recognises
   * a QoS 2 message it already has.
   */
  readonly packetId: number;
}

/**
 * A message for the program. A QoS 1/2 message is acknowledged when this returns, or when
 * the promise it returns resolves; if it throws or rejects, the message stays
 * unacknowledged and is delivered again when the session is next resumed.
 */
export type MessageHandler = (message: Message, delivery: Delivery) => void | Promise<void>;

export interface PublishOptions {
  readonly qos?: QoS;
  readonly retain?: boolean;
  /** 5.0 properties (Message Expiry Interval, Content Type, User Properties, ...). */
  readonly properties?: Omit<PublishProperties, 'topicAlias' | 'subscriptionIdentifiers'>;
}

export type SubscribeOptions = Omit<Subscription, 'topicFilter' | 'qos'> & { readonly qos?: QoS };

export class InProcessError extends Error {
  constructor(
    message: string,
    /** The 5.0 reason code, as a network client would have been told. */
    readonly reasonCode: number,
  ) {
    super(message);
  }
}

// Subscription identifiers tell the client which callbacks a delivery is for; they are
// this client's own, never on a wire.
const MAX_SUBSCRIPTION_ID = 268_435_455;

export class InProcessClient implements ConnectedClient {
  readonly protocolVersion = 5 as const;
  readonly remoteAddress = 'in-process';
  readonly listener = 'in-process';
  readonly keepalive = 0;
  readonly connectedAt = Date.now();
  lastSeen = this.connectedAt;
  readonly congested = false;
  readonly sendWindow: number;
  readonly username: string | undefined;
  private closed = false;
  private session: Session | undefined = undefined;
  /** Callbacks by subscription identifier, and the identifier of each filter. */
  private readonly handlers = new Map<number, MessageHandler>();
  private readonly ids = new Map<string, number>();
  private nextId = 1;

  private constructor(
    private readonly broker: Broker,
    private readonly options: InProcessOptions,
  ) {
    this.username = options.username;
    this.sendWindow = Math.max(1, Math.min(options.receiveMaximum ?? broker.limits.maxInflight, broker.limits.maxInflight));
  }

  get id(): string {
    return this.options.clientId;
  }

  /** Opens the client's session (resolves once it is durable, with a store). */
  static async connect(broker: Broker, options: InProcessOptions): Promise<InProcessClient> {
    if (options.clientId.length === 0) throw new InProcessError('a client id is required', 0x85);
    const client = new InProcessClient(broker, options);
    const expiry = Math.min(options.sessionExpiry ?? 0, broker.limits.maxSessionExpiry);
    const clean = options.clean ?? true;
    const open = (): OpenResult => broker.sessions.open(client, { clean, expiryInterval: expiry });
    // In a cluster the client id is taken for this node first, as for a network client
    // (src/cluster/sessions.ts): a bridge's queue moves with its lease instead of being
    // opened afresh beside the member that held it.
    const acquire = broker.sessions.acquire;
    const opened = acquire === undefined ? open() : await acquire(options.clientId, clean, open).catch((err: unknown) => {
      throw new InProcessError(`connection refused: ${(err as Error).message}`, 0x89);
    });
    if (!opened.ok) throw new InProcessError(`connection refused: ${opened.reason}`, opened.reasonCode);
    client.session = opened.session;
    // Identifiers a resumed session kept: new ones must not collide with them.
    for (const sub of opened.session.subscriptions.values()) {
      if (sub.subscriptionId !== undefined && sub.subscriptionId >= client.nextId) client.nextId = sub.subscriptionId + 1;
    }
    await broker.durable();
    if (client.closed) throw new InProcessError('taken over while connecting', 0x8e);
    broker.log.info({ clientId: client.id, username: client.username, sessionPresent: opened.present }, 'in-process client connected');
    opened.session.resume(client);
    broker.joined(client);
    return client;
  }

  /** True until close(), or until the broker ends the client (onClose). */
  get connected(): boolean {
    return !this.closed;
  }

  /**
   * Publishes through the same steps as a client's PUBLISH: topic checks, the
   * authorizePublish and onPublish hooks, retained storage, routing. Resolves to 0x00, or
   * 0x10 when no subscriber matched; a refusal rejects with an InProcessError carrying its
   * reason code. A QoS 1/2 message resolves once it is durable (with a store).
   */
  async publish(topic: string, payload: Buffer | string, options: PublishOptions = {}): Promise<number> {
    this.check();
    const limits = this.broker.limits;
    const bad = validateTopicName(topic, { maxLength: limits.maxTopicLength, maxLevels: limits.maxTopicLevels });
    if (bad !== undefined) throw new InProcessError(`topic ${JSON.stringify(topic)}: ${bad}`, 0x90);
    // Like any client: $ topics belong to the server.
    if (topic.charCodeAt(0) === 0x24) throw new InProcessError(`topic ${JSON.stringify(topic)}: $ topics are the server's`, 0x87);
    const qos = options.qos ?? 0;
    if (qos > (this.broker.options.maximumQoS ?? 2)) throw new InProcessError(`QoS ${qos} not supported`, 0x9b);
    const props = options.properties;
    const interval = props?.messageExpiryInterval;
    const message: Message = {
      topic,
      payload: Buffer.from(payload), // a copy: the program may reuse its buffer
      qos,
      retain: options.retain ?? false,
      origin: this.id,
      ...(props !== undefined && Object.keys(props).length > 0 && { properties: props }),
      ...(interval !== undefined && { expiresAt: Date.now() + interval * 1000 }),
    };
    this.lastSeen = Date.now();
    const result = this.broker.publishFrom(this, message, true);
    const code = isPromise(result) ? await result : result;
    if (code >= 0x80) throw new InProcessError(`publish to ${JSON.stringify(topic)} refused (0x${code.toString(16)})`, code);
    if (qos > 0) await this.broker.durable();
    return code;
  }

  /**
   * Subscribes `handler` to `filter`: resolves to the QoS granted, or rejects with an
   * InProcessError carrying the reason code (0x87 not authorized, 0x8F invalid filter,
   * 0x97 too many subscriptions). Subscribing to the same filter again replaces its options
   * and its handler [MQTT-3.8.4-3]. Retained messages follow options.retainHandling.
   */
  async subscribe(filter: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<QoS> {
    const session = this.check();
    const sub: Subscription = { ...options, topicFilter: filter, qos: options.qos ?? 0 };
    const verdicts = authorizeSubscriptions(this.broker, this, [sub]);
    const settled = isPromise(verdicts) ? await verdicts : verdicts;
    this.check();
    let id = this.ids.get(filter) ?? session.subscriptions.get(filter)?.subscriptionId;
    if (id === undefined) {
      if (this.nextId > MAX_SUBSCRIPTION_ID) throw new InProcessError('subscription identifiers used up', 0x97);
      id = this.nextId++;
    }
    const { codes, added } = addSubscriptions(this.broker, this, session, [sub], settled, id, true);
    const code = codes[0]!;
    if (code >= 0x80) throw new InProcessError(`subscription to ${JSON.stringify(filter)} refused (0x${code.toString(16)})`, code);
    this.ids.set(filter, id);
    this.handlers.set(id, handler);
    await this.broker.durable();
    deliverRetained(this.broker, this, session, added, id);
    this.broker.notify(this.broker.hooks.onSubscribe(this, [sub], codes));
    return code as QoS;
  }

  /** Removes the subscription to `filter`; false when there was none. */
  async unsubscribe(filter: string): Promise<boolean> {
    const session = this.check();
    const id = this.ids.get(filter);
    if (id !== undefined) {
      this.ids.delete(filter);
      this.handlers.delete(id);
    }
    const had = this.broker.unsubscribe(session, filter);
    await this.broker.durable();
    return had;
  }

  /** Leaves: the session ends, or waits out its expiry interval. No will. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.end('client closed');
    await this.broker.durable();
  }

  // The delivery interface, called by the session.

  sendPublish(message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean): boolean {
    const stats = this.broker.stats;
    stats.messagesSent++;
    stats.publishSent[qos]++;
    // Never inside the router's loop: the program's code runs on its own turn, in order.
    queueMicrotask(() => this.dispatch(message, { qos, retain, dup, packetId }, subscriptionIds, packetId));
    return true;
  }

  sendPubrel(packetId: number): void {
    // A QoS 2 delivery that was received before a restart: only its completion is owed.
    queueMicrotask(() => {
      if (!this.closed) this.session?.complete(packetId, 'pubrel');
    });
  }

  disconnect(reasonCode: number, reason: string): void {
    if (this.closed) return;
    this.end(reason);
    try {
      this.options.onClose?.(reasonCode, reason);
    } catch (err) {
      this.broker.log.error({ err, clientId: this.id }, 'in-process onClose failed');
    }
  }

  private end(reason: string): void {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) this.broker.sessions.release(this, session, undefined, 0);
    this.broker.log.info({ clientId: this.id, reason }, 'in-process client disconnected');
    this.broker.left(this, reason);
  }

  private dispatch(message: Message, delivery: Delivery, subscriptionIds: number[] | undefined, packetId: number): void {
    if (this.closed) return;
    const handlers: MessageHandler[] = [];
    if (subscriptionIds !== undefined) {
      for (const id of subscriptionIds) {
        const h = this.handlers.get(id);
        if (h !== undefined && !handlers.includes(h)) handlers.push(h);
      }
    }
    if (handlers.length === 0 && this.options.onMessage !== undefined) handlers.push(this.options.onMessage);
    // Nobody to take it: not acknowledged, so it is not lost (see InProcessOptions.onMessage).
    if (handlers.length === 0) return;
    let pending: Promise<unknown> | undefined;
    try {
      const results = handlers.map((h) => h(message, delivery));
      if (results.some(isPromise)) pending = Promise.all(results);
    } catch (err) {
      this.failed(err, message);
      return;
    }
    if (delivery.qos === 0) {
      pending?.catch((err: unknown) => this.failed(err, message));
      return;
    }
    if (pending === undefined) this.acknowledge(packetId, delivery.qos);
    else pending.then(() => this.acknowledge(packetId, delivery.qos), (err: unknown) => this.failed(err, message));
  }

  private acknowledge(packetId: number, qos: QoS): void {
    // After close or a takeover the packet id is another peer's business.
    const session = this.session;
    if (this.closed || session === undefined) return;
    this.lastSeen = Date.now();
    if (qos === 1) session.complete(packetId, 'publish');
    else if (session.received(packetId, false)) session.complete(packetId, 'pubrel');
  }

  private failed(err: unknown, message: Message): void {
    this.broker.log.warn({ err, clientId: this.id, topic: message.topic }, 'in-process message handler failed: the message stays unacknowledged');
  }

  private check(): Session {
    if (this.closed || this.session === undefined) throw new InProcessError('the client is closed', 0x8e);
    return this.session;
  }
}
