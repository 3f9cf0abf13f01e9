// One bridge: a link to another broker that carries the topics of its rules both ways.
//
// The local side is an in-process client (broker.client()) with a persistent session. Its
// subscriptions (the `out` rules) are sessions like any other, so while the link is down the
// messages for the remote wait in that session's queue, in the store, bounded by the
// broker's queue limits, and come out in order once the link is back; a restart of Starling
// resumes the session and its queue. A QoS 1/2 message is acknowledged to the local session
// only when the remote has acknowledged it (PUBACK, PUBCOMP), so nothing between the two is
// held anywhere but in the store.
//
// The remote side is one MQTT.js client kept for the bridge's whole life: its outgoing store
// holds the messages in flight across reconnections, which resume with the remote's session
// (PUBLISH again with DUP, or PUBREL) [MQTT-4.4.0-1] and are sent once per reconnection, never
// on a timer. Reconnection is ours (jittered backoff, address failover or round robin);
// MQTT.js's own is off.
//
// Loops: the local subscriptions have No Local (what the bridge publishes here is not sent
// back), the remote ones too in 5.0, and in 3.1.1 the CONNECT carries Mosquitto's bridge flag,
// which asks the same of a Mosquitto or Starling remote. Retain As Published on both sides
// keeps retained messages retained across the bridge.

import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { MqttClient, Store, type IClientOptions, type IClientSubscribeOptions, type IPublishPacket, type Packet } from 'mqtt';

type IMessageIdProvider = NonNullable<IClientOptions['messageIdProvider']>;
import WebSocket, { createWebSocketStream } from 'ws';
import type { Broker } from '../broker/broker.js';
import { InProcessError, type Delivery, type InProcessClient } from '../broker/in-process.js';
import type { PublishProperties, UserProperty } from '../codec/types.js';
import type { Message } from '../message.js';
import { validateTopicName } from '../topics/index.js';
import { guardPacketSize } from './guard.js';
import { inbound, outbound, type TopicRule } from './rules.js';

export interface BridgeAddress {
  /** As written: `mqtts://central.example:8883`. */
  readonly url: string;
  readonly transport: 'tcp' | 'tls' | 'ws' | 'wss';
  readonly host: string;
  readonly port: number;
}

export interface BridgeTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecure?: boolean;
}

export interface BridgeOptions {
  readonly name: string;
  readonly addresses: readonly BridgeAddress[];
  readonly roundRobin: boolean;
  readonly protocolVersion: 4 | 5;
  readonly tryPrivate: boolean;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly keepAlive: number;
  readonly cleanStart: boolean;
  readonly sessionExpiry: number;
  readonly localClientId: string;
  readonly localUsername?: string;
  readonly localSessionExpiry: number;
  readonly maxInflight: number;
  readonly reconnectDelay: number;
  readonly maxReconnectDelay: number;
  readonly notificationTopic?: string;
  readonly rules: readonly TopicRule[];
  readonly tls?: BridgeTls;
}

export type BridgeState = 'stopped' | 'connecting' | 'connected' | 'disconnected';

/** What the admin API, metrics and $SYS show of a bridge. */
export interface BridgeStatus {
  readonly name: string;
  readonly state: BridgeState;
  /** The address connected to, or being tried. */
  readonly address: string | undefined;
  readonly clientId: string;
  readonly localClientId: string;
  readonly protocolVersion: 4 | 5;
  /** When the link came up, ms since the epoch. */
  readonly connectedSince: number | undefined;
  readonly lastError: string | undefined;
  /** Messages delivered to the remote (acknowledged at QoS 1/2), and their payload bytes. */
  readonly messagesOut: number;
  readonly bytesOut: number;
  /** Messages from the remote published here, and their payload bytes. */
  readonly messagesIn: number;
  readonly bytesIn: number;
  /** QoS 0 messages for the remote dropped while the link was down. */
  readonly droppedOut: number;
  /** Messages from the remote the local side refused (ACL, hooks, bad topic). */
  readonly refusedIn: number;
  /** Packets from the remote larger than limits.maxPacketSize: the link was ended at each. */
  readonly tooLargeIn: number;
  /** Messages for the remote waiting in the local session's queue. */
  readonly queued: number;
  /** Messages for the remote sent and not yet acknowledged. */
  readonly inflight: number;
  /** Times the link came back after being lost. */
  readonly reconnects: number;
  /** Connection attempts that failed. */
  readonly connectFailures: number;
  /** PUBLISH (with DUP) and PUBREL packets sent again after a reconnection. */
  readonly resent: number;
}

interface Counters {
  messagesOut: number;
  bytesOut: number;
  messagesIn: number;
  bytesIn: number;
  droppedOut: number;
  refusedIn: number;
  tooLargeIn: number;
  reconnects: number;
  connectFailures: number;
  resent: number;
}

/**
 * MQTT.js's in-memory outgoing store, marking each PUBLISH once it has gone out, so that a
 * resend after a reconnection carries DUP [MQTT-3.3.1-1].
 */
class OutgoingStore extends Store {
  sent(packet: Packet): void {
    if (packet.cmd !== 'publish' || packet.qos === 0 || packet.messageId === undefined) return;
    const stored = (this as unknown as { _inflights: Map<number, Packet> | null })._inflights?.get(packet.messageId);
    if (stored?.cmd === 'publish') stored.dup = true;
  }
}

/**
 * The remote's packet ids. A message from the local session goes out under the local
 * session's packet id: after a restart of Starling the session delivers its unacknowledged
 * messages again under the same ids, and a remote that already has a QoS 2 message under that
 * id (PUBREC sent, PUBREL awaited) answers PUBREC again instead of delivering it twice
 * [MQTT-4.3.3-10]. Ids nobody asks for (SUBSCRIBE) come from the top of the range down, away
 * from the session's, which count up from 1.
 */
class PacketIds implements IMessageIdProvider {
  /** The id the next allocate() should return, set just before a publish. */
  wanted: number | undefined;
  private readonly used = new Set<number>();
  private last = 0;
  private next = 0xffff;

  allocate(): number | null {
    const want = this.wanted;
    this.wanted = undefined;
    if (want !== undefined && want > 0 && !this.used.has(want)) return this.take(want);
    for (let i = 0; i < 0xffff; i++) {
      const id = this.next;
      this.next = id === 1 ? 0xffff : id - 1;
      if (!this.used.has(id)) return this.take(id);
    }
    return null;
  }

  private take(id: number): number {
    this.used.add(id);
    this.last = id;
    return id;
  }

  getLastAllocated(): number | null {
    return this.last;
  }

  register(id: number): boolean {
    if (this.used.has(id)) return false;
    this.used.add(id);
    return true;
  }

  deallocate(id: number): void {
    this.used.delete(id);
  }

  clear(): void {
    this.used.clear();
  }
}

export class Bridge {
  private client: MqttClient | undefined;
  private local: InProcessClient | undefined;
  private state: BridgeState = 'stopped';
  private stopping = false;
  /** The address of the current or next attempt. */
  private index = 0;
  /** Failed attempts since the link was last up: the backoff's exponent. */
  private failures = 0;
  private everConnected = false;
  private connectedThisAttempt = false;
  private connectedSince: number | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Remote packet ids of QoS 2 messages published here and not yet released (PUBREL). */
  private readonly received = new Set<number>();
  /** Messages for the remote whose send failed with the link: sent again when it is back. */
  private retries: Array<() => void> = [];
  /** QoS 1/2 messages handed to MQTT.js and not yet acknowledged by the remote. */
  private unacknowledged = 0;
  /** The remote's Receive Maximum (5.0 CONNACK), as last told; 65,535 when it says none. */
  private remoteReceiveMaximum = 65_535;
  /** Messages waiting for the link, or for room under the remote's Receive Maximum, in order. */
  private waiting: Array<() => void> = [];
  private readonly stats: Counters = { messagesOut: 0, bytesOut: 0, messagesIn: 0, bytesIn: 0, droppedOut: 0, refusedIn: 0, tooLargeIn: 0, reconnects: 0, connectFailures: 0, resent: 0 };
  private readonly outRules: readonly TopicRule[];
  private readonly inRules: readonly TopicRule[];
  // One of each per MQTT.js client: ending a client closes its stores.
  private store = new OutgoingStore();
  private ids = new PacketIds();
  /** Packet ids whose PUBREL has been sent and not completed: a second PUBREL is a resend. */
  private readonly released = new Set<number>();

  constructor(
    private readonly broker: Broker,
    readonly options: BridgeOptions,
  ) {
    this.outRules = options.rules.filter((r) => r.direction !== 'in');
    this.inRules = options.rules.filter((r) => r.direction !== 'out');
  }

  get name(): string {
    return this.options.name;
  }

  /**
   * Opens the local session and starts connecting to the remote. Resolves once the local
   * side is subscribed (the link comes up in the background); rejects if the local session
   * cannot be opened or a rule is refused here (ACL).
   */
  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.stopping = false;
    this.state = 'connecting';
    // What a previous run left in flight is the local session's again (it resends it).
    this.unacknowledged = 0;
    this.received.clear();
    this.released.clear();
    this.notify(false);
    // The remote client first: a resumed local session delivers at once, and what it
    // delivers waits for the link (whenWindow).
    this.client = this.createClient();
    try {
      await this.openLocal();
    } catch (err) {
      this.state = 'stopped';
      // Never connected: there is no stream to end.
      this.client = undefined;
      // A rule refused here (ACL): the session stays as it was, for a corrected config.
      await this.local?.close();
      this.local = undefined;
      throw err;
    }
    this.attempt();
  }

  /**
   * Closes the link and the local client; the local session (and its queue) stays for the
   * next start. `notify` false: the broker is shutting down and takes no more publishes.
   */
  async stop(notify = true): Promise<void> {
    if (this.state === 'stopped') return;
    this.stopping = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    // A client that never tried has no stream to end.
    if (client !== undefined && (client as unknown as { stream?: unknown }).stream !== undefined) {
      // Nothing in flight: a clean DISCONNECT; otherwise the remote keeps it for the next start.
      const idle = client.connected && Object.keys((client as unknown as { outgoing: object }).outgoing).length === 0;
      await new Promise<void>((resolve) => client.end(!idle, {}, () => resolve()));
    }
    this.retries = [];
    this.waiting = [];
    const local = this.local;
    this.local = undefined;
    await local?.close();
    this.setState('stopped');
    if (notify) this.notify(false);
  }

  status(): BridgeStatus {
    const session = this.broker.sessions.get(this.options.localClientId);
    const address = this.options.addresses[this.index];
    return {
      name: this.options.name,
      state: this.state,
      address: this.state === 'stopped' ? undefined : address?.url,
      clientId: this.options.clientId,
      localClientId: this.options.localClientId,
      protocolVersion: this.options.protocolVersion,
      connectedSince: this.state === 'connected' ? this.connectedSince : undefined,
      lastError: this.lastError,
      ...this.stats,
      // Delivered to the bridge and not yet sent count as queued: they wait for the link.
      queued: (session?.queued ?? 0) + this.waiting.length + this.retries.length,
      inflight: this.unacknowledged,
    };
  }

  // The local side.

  private async openLocal(): Promise<void> {
    const o = this.options;
    const local = await this.broker.client({
      clientId: o.localClientId,
      ...(o.localUsername !== undefined && { username: o.localUsername }),
      clean: false,
      sessionExpiry: o.localSessionExpiry,
      receiveMaximum: o.maxInflight,
      // Deliveries of the resumed session come before subscribe() is called again.
      onMessage: this.out,
      onClose: (code, reason) => {
        if (this.stopping) return;
        // Taken over (another client used the bridge's local id) or shut down: the bridge
        // cannot carry on without its session.
        const log = code === 0x8b ? this.broker.log.info.bind(this.broker.log) : this.broker.log.error.bind(this.broker.log);
        log({ bridge: o.name, reasonCode: code, reason }, 'bridge: its local client was closed; the bridge stops');
        this.lastError = `local client closed: ${reason}`;
        void this.stop(code !== 0x8b);
      },
    });
    this.local = local;
    const wanted = new Set(this.outRules.map((r) => r.localFilter));
    // Rules removed from the config since the session was made: their subscriptions go.
    const session = this.broker.sessions.get(o.localClientId);
    for (const filter of [...(session?.subscriptions.keys() ?? [])]) {
      if (!wanted.has(filter)) await local.unsubscribe(filter);
    }
    for (const rule of this.outRules) {
      // Retained messages only for a new subscription: a restart does not send them again.
      await local.subscribe(rule.localFilter, this.out, { qos: rule.qos, noLocal: true, retainAsPublished: true, retainHandling: 1 });
    }
  }

  /** A local message for the remote. Resolves (acknowledging it here) once the remote has it. */
  private readonly out = (message: Message, delivery: Delivery): void | Promise<void> => {
    const target = outbound(this.outRules, message.topic);
    // Not one of ours (a subscription of an older config): acknowledged and not sent.
    if (target === undefined) return;
    const qos = delivery.qos;
    const options = {
      qos,
      retain: delivery.retain,
      ...(this.options.protocolVersion === 5 && { properties: toRemoteProperties(message) }),
    };
    const payload = message.payload;
    if (qos === 0) {
      const client = this.client;
      if (client === undefined || !client.connected) {
        this.stats.droppedOut++;
        return;
      }
      client.publish(target.topic, payload, options, (err) => {
        if (err) this.stats.droppedOut++;
        else this.sent(payload);
      });
      return;
    }
    return new Promise<void>((resolve, reject) => {
      const send = (): void => {
        const client = this.client;
        if (client === undefined || this.stopping) {
          // Stays unacknowledged here: sent again when the bridge next starts.
          reject(new InProcessError('bridge stopped', 0x8b));
          return;
        }
        this.unacknowledged++;
        // Sent only with the link up, when MQTT.js allocates the id at once (not deferred
        // behind its resends): it takes this one.
        this.ids.wanted = delivery.packetId;
        client.publish(target.topic, payload, { ...options, dup: delivery.dup }, (err) => {
          this.unacknowledged--;
          this.admit();
          if (!err) {
            this.sent(payload);
            resolve();
          } else if (this.stopping || this.client === undefined) {
            reject(err);
          } else {
            // The link went while MQTT.js had not stored it yet: again once it is back.
            this.retries.push(send);
          }
        });
      };
      this.whenWindow(send);
    });
  };

  /**
   * Runs `send` now if the link is up and the remote's Receive Maximum leaves room, else once
   * it does. A 5.0 remote closes a client that has more QoS 1/2 messages unacknowledged than
   * it allows [MQTT-3.3.4-7]; and what MQTT.js holds while the link is down it sends all at
   * once on reconnection, so nothing is handed to it then: the queue is the local session.
   */
  private whenWindow(send: () => void): void {
    if (this.state === 'connected' && this.waiting.length === 0 && this.unacknowledged < this.remoteReceiveMaximum) send();
    else this.waiting.push(send);
  }

  private admit(): void {
    while (this.state === 'connected' && this.waiting.length > 0 && this.unacknowledged < this.remoteReceiveMaximum) this.waiting.shift()!();
  }

  private sent(payload: Buffer): void {
    this.stats.messagesOut++;
    this.stats.bytesOut += payload.length;
  }

  // The remote side.

  private createClient(): MqttClient {
    const o = this.options;
    this.store = new OutgoingStore();
    this.ids = new PacketIds();
    const v5 = o.protocolVersion === 5;
    const options: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: o.protocolVersion,
      protocolId: 'MQTT',
      clean: o.cleanStart,
      keepalive: o.keepAlive,
      ...(o.username !== undefined && { username: o.username }),
      ...(o.password !== undefined && { password: o.password }),
      // 5.0: the remote sends at most maxInflight QoS 1/2 messages unacknowledged, which bounds
      // the QoS 2 ids held here awaiting PUBREL.
      // ... and nothing larger than a client may send here (guard.ts holds any remote to it).
      ...(v5 && { properties: { sessionExpiryInterval: o.sessionExpiry, receiveMaximum: o.maxInflight, maximumPacketSize: this.broker.limits.maxPacketSize } }),
      // A remote that takes a connection and answers nothing (frozen, overloaded) is dead
      // as much as one that refuses it: given as long as the keep alive allows a silent link.
      connectTimeout: o.keepAlive > 0 ? Math.max(5000, o.keepAlive * 1500) : 30_000,
      reconnectPeriod: 0, // ours: jittered, with failover
      manualConnect: true,
      resubscribe: false, // ours: see subscribeRemote()
      queueQoSZero: false, // QoS 0 is not queued while the link is down
      outgoingStore: this.store,
      messageIdProvider: this.ids,
      incomingStore: new Store(),
    };
    const client = new MqttClient(() => this.stream(), options);
    // QoS 2 from the remote is published here before PUBREC, so that the remote may forget
    // it as soon as it has our PUBREC. Set after construction: MQTT.js takes the option
    // from 5.0 clients only, and 3.1.1 needs it as much.
    client.options.customHandleAcks = (_topic, _message, packet, done) => {
      if (packet.qos !== 2) {
        done(0);
        return;
      }
      // A resend of an id not yet released is the same message: not published again [MQTT-4.3.3-10].
      const id = packet.messageId!;
      if (this.received.has(id)) {
        done(0);
        return;
      }
      void this.in(packet).then(
        (code) => {
          if (code < 0x80) this.received.add(id);
          done(code < 0x80 || !v5 ? 0 : code);
        },
        () => undefined, // the bridge is stopping: no PUBREC, the remote sends it again
      );
    };
    if (!v5 && o.tryPrivate) {
      // Mosquitto's bridge flag: protocol level 0x84. mqtt-packet writes it for a CONNECT
      // packet with bridgeMode, which MQTT.js does not set from its options.
      const internal = client as unknown as { _writePacket(packet: Packet, cb?: () => void): void };
      const write = internal._writePacket.bind(client);
      internal._writePacket = (packet, cb) => write(packet.cmd === 'connect' ? ({ ...packet, bridgeMode: true } as Packet) : packet, cb);
    }
    // QoS 0 and 1 are published here before they are acknowledged; QoS 2 was at PUBLISH.
    client.handleMessage = (packet, callback) => {
      if (packet.qos === 2) {
        this.received.delete(packet.messageId!);
        callback();
        return;
      }
      void this.in(packet).then(
        () => callback(),
        (err: unknown) => {
          // Not acknowledged: the remote sends it again on the next connection.
          if (!this.stopping) this.broker.log.warn({ bridge: o.name, err }, 'bridge: a message from the remote could not be published here');
        },
      );
    };
    client.on('packetsend', (packet) => {
      if (packet.cmd === 'publish' && packet.qos > 0 && packet.dup) this.stats.resent++;
      if (packet.cmd === 'pubrel' && packet.messageId !== undefined) {
        if (this.released.has(packet.messageId)) this.stats.resent++;
        else this.released.add(packet.messageId);
      }
      this.store.sent(packet);
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'pubcomp' && packet.messageId !== undefined) this.released.delete(packet.messageId);
    });
    client.on('connect', (connack) => {
      this.remoteReceiveMaximum = connack.properties?.receiveMaximum ?? 65_535;
      this.connected(connack.sessionPresent);
    });
    client.on('close', () => this.closed());
    client.on('error', (err) => {
      this.lastError = err.message;
      this.broker.log.debug({ bridge: o.name, err: err.message }, 'bridge: link error');
    });
    return client;
  }

  /** A message from the remote, published here. Resolves to its reason code; rejects only when stopping. */
  private async in(packet: IPublishPacket): Promise<number> {
    const local = this.local;
    if (local === undefined || this.stopping) throw new Error('bridge stopped');
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const target = inbound(this.inRules, packet.topic);
    if (target === undefined || !wellFormed(packet.properties)) {
      // Sent by a remote subscription of an older config, or a remote that ignores No Local.
      this.stats.refusedIn++;
      return 0x00;
    }
    try {
      await local.publish(target.topic, payload, {
        qos: packet.qos,
        retain: packet.retain,
        ...(packet.properties !== undefined && { properties: toLocalProperties(packet.properties) }),
      });
    } catch (err) {
      if (err instanceof InProcessError && err.reasonCode !== 0x8e) {
        this.stats.refusedIn++;
        this.broker.log.debug({ bridge: this.options.name, topic: target.topic, reasonCode: err.reasonCode }, 'bridge: message from the remote refused here');
        return err.reasonCode;
      }
      throw err;
    }
    this.stats.messagesIn++;
    this.stats.bytesIn += payload.length;
    return 0x00;
  }

  private stream(): Duplex {
    const stream = this.connectStream();
    guardPacketSize(stream, this.broker.limits.maxPacketSize, (size) => this.tooLarge(`a packet of ${size} bytes`));
    return stream;
  }

  private tooLarge(what: string): void {
    this.stats.tooLargeIn++;
    this.lastError = `the remote sent ${what}, beyond limits.maxPacketSize`;
    this.broker.log.warn({ bridge: this.options.name, maxPacketSize: this.broker.limits.maxPacketSize }, `bridge: ${this.lastError}; link closed`);
  }

  private connectStream(): Duplex {
    const address = this.options.addresses[this.index]!;
    const t = this.options.tls;
    const secure = { ca: t?.ca, cert: t?.cert, key: t?.key, rejectUnauthorized: t?.insecure !== true };
    this.broker.log.debug({ bridge: this.options.name, address: address.url }, 'bridge: connecting');
    switch (address.transport) {
      case 'tcp':
        return net.connect({ host: address.host, port: address.port });
      case 'tls':
        return tls.connect({ host: address.host, port: address.port, ...(net.isIP(address.host) === 0 && { servername: address.host }), ...secure });
      default: {
        // ws holds a whole frame (100 MiB by default) before guardPacketSize sees a byte of
        // it: a remote's frame is bounded as its packets are (brokers send a packet a frame).
        const ws = new WebSocket(address.url, ['mqtt'], { ...secure, handshakeTimeout: 10_000, maxPayload: this.broker.limits.maxPacketSize });
        ws.on('error', (err: Error & { code?: string }) => {
          if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.tooLarge('a WebSocket frame');
        });
        return createWebSocketStream(ws);
      }
    }
  }

  private attempt(): void {
    const client = this.client;
    if (client === undefined || this.stopping) return;
    this.connectedThisAttempt = false;
    this.setState('connecting');
    client.connect();
  }

  private connected(sessionPresent: boolean): void {
    const o = this.options;
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
    this.connectedThisAttempt = true;
    this.failures = 0;
    this.connectedSince = Date.now();
    this.lastError = undefined;
    // A remote without our session has no QoS 2 ids of ours to release.
    if (!sessionPresent) this.received.clear();
    this.setState('connected');
    this.broker.log.info({ bridge: o.name, address: o.addresses[this.index]!.url, sessionPresent }, 'bridge connected');
    this.notify(true);
    this.subscribeRemote(sessionPresent);
    // Those whose send failed with the last link are older than those waiting.
    this.waiting = [...this.retries, ...this.waiting];
    this.retries = [];
    this.admit();
  }

  private subscribeRemote(sessionPresent: boolean): void {
    const client = this.client;
    if (client === undefined || this.inRules.length === 0) return;
    const v5 = this.options.protocolVersion === 5;
    // 5.0: on every connection, with Retain Handling 1 so that a resumed subscription does
    // not bring the retained messages again. 3.1.1 has no such option: only when the remote
    // has no session, or at the first connection (the rules may have changed since).
    if (!v5 && sessionPresent && this.stats.reconnects > 0) return;
    const filters: Record<string, IClientSubscribeOptions> = {};
    for (const rule of this.inRules) {
      filters[rule.remoteFilter] = v5 ? { qos: rule.qos, nl: true, rap: true, rh: 1 } : { qos: rule.qos };
    }
    client.subscribe(filters, (err, granted) => {
      if (err) {
        this.broker.log.warn({ bridge: this.options.name, err: err.message }, 'bridge: remote subscription failed');
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos >= 0x80) this.broker.log.warn({ bridge: this.options.name, filter: g.topic, reasonCode: g.qos }, 'bridge: the remote refused a subscription');
      }
    });
  }

  private closed(): void {
    if (this.stopping || this.client === undefined) return;
    const o = this.options;
    const n = o.addresses.length;
    if (this.connectedThisAttempt) {
      this.broker.log.warn({ bridge: o.name, address: o.addresses[this.index]!.url, err: this.lastError }, 'bridge disconnected');
      this.notify(false);
      // Failover goes back to the first address; round robin on to the next.
      this.index = o.roundRobin ? (this.index + 1) % n : 0;
    } else {
      this.stats.connectFailures++;
      this.failures++;
      this.index = (this.index + 1) % n;
    }
    this.connectedThisAttempt = false;
    this.setState('disconnected');
    const delay = backoff(this.failures, o.reconnectDelay, o.maxReconnectDelay);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.attempt(), delay);
  }

  private setState(state: BridgeState): void {
    this.state = state;
  }

  /** The retained link state, as Mosquitto's notifications: `1` up, `0` down. */
  private notify(up: boolean): void {
    const topic = this.options.notificationTopic;
    if (topic === undefined) return;
    try {
      this.broker.publish({ topic, payload: Buffer.from(up ? '1' : '0'), qos: 1, retain: true });
    } catch (err) {
      this.broker.log.warn({ bridge: this.options.name, err }, 'bridge: state notification failed');
    }
  }
}

/**
 * The wait before the next attempt after `failures` failed ones: the ceiling doubles from
 * `base` up to `max`, and the wait is drawn from the ceiling's upper half, so that edges cut
 * off together do not come back together.
 */
export function backoff(failures: number, base: number, max: number): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(failures, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

type RemoteProperties = NonNullable<IPublishPacket['properties']>;

/** A local message's 5.0 properties as MQTT.js takes them (the expiry as what is left of it). */
function toRemoteProperties(message: Message): RemoteProperties {
  const p = message.properties;
  const out: RemoteProperties = {};
  if (p?.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator === 1;
  if (message.expiresAt !== undefined) out.messageExpiryInterval = Math.max(1, Math.ceil((message.expiresAt - Date.now()) / 1000));
  if (p?.contentType !== undefined) out.contentType = p.contentType;
  if (p?.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p?.correlationData !== undefined) out.correlationData = p.correlationData;
  if (p?.userProperties !== undefined && p.userProperties.length > 0) {
    const user: Record<string, string | string[]> = {};
    for (const [name, value] of p.userProperties) {
      const had = user[name];
      user[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
    }
    out.userProperties = user;
  }
  return out;
}

/** A remote message's 5.0 properties as the in-process client takes them. */
/**
 * MQTT.js passes on what our codec refuses from a client: a Response Topic with a wildcard
 * [MQTT-3.3.2-14], U+0000 in a string [MQTT-1.5.4-2]. Such a message is malformed; carried
 * here it would make every strict 5.0 subscriber close its connection on receiving it.
 */
function wellFormed(p: RemoteProperties | undefined): boolean {
  if (p === undefined) return true;
  const strings: unknown[] = [p.contentType, p.responseTopic];
  for (const [name, value] of Object.entries(p.userProperties ?? {})) strings.push(name, ...(Array.isArray(value) ? value : [value]));
  for (const s of strings) if (typeof s === 'string' && s.includes('\u0000')) return false;
  return p.responseTopic === undefined || validateTopicName(p.responseTopic) === undefined;
}

function toLocalProperties(p: RemoteProperties): Omit<PublishProperties, 'topicAlias' | 'subscriptionIdentifiers'> {
  const out: { -readonly [K in keyof PublishProperties]: PublishProperties[K] } = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator ? 1 : 0;
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = Buffer.from(p.correlationData);
  if (p.userProperties !== undefined) {
    const user: UserProperty[] = [];
    for (const [name, value] of Object.entries(p.userProperties)) {
      for (const v of Array.isArray(value) ? value : [value]) user.push([name, String(v)]);
    }
    if (user.length > 0) out.userProperties = user;
  }
  return out;
}
