// One MQTT-SN client of the gateway: the state of section 6 (connecting with the will
// dialogue, active, asleep, awake) for one client address (or one Wireless Node Id behind a
// forwarder), mapped onto an ordinary broker session. It is a DeliveryPeer like a network
// connection (src/broker/peer.ts): it opens its session through broker.sessions.open, its
// publishes and subscriptions go through the broker's hooks, and the session hands it
// deliveries, which it turns into REGISTER + PUBLISH datagrams. Topic ids, retransmission
// (Tretry/Nretry, 6.13) and the sleeping client's buffer (6.14) live here; the session keeps
// what MQTT keeps (subscriptions, QoS 1/2 in flight and queued, inbound QoS 2 ids).

import type { QoS as MqttQoS, Subscription } from '../../codec/types.js';
import type { Broker } from '../../broker/broker.js';
import type { Connection } from '../../broker/connection.js';
import { isPromise } from '../../broker/hooks.js';
import type { ConnectedClient } from '../../broker/peer.js';
import type { Session } from '../../broker/session.js';
import { addSubscriptions, authorizeSubscriptions, deliverRetained } from '../../broker/subscriptions.js';
import type { ListenerInfo, Verdict } from '../../broker/types.js';
import type { Message } from '../../message.js';
import { validateTopicFilter, validateTopicName } from '../../topics/index.js';
import type { ResolvedMqttSnOptions } from './options.js';
import type { GatewayStats } from './stats.js';
import {
  ReturnCode,
  type Connect,
  type Message as SnMessage,
  type Publish,
  type PublishTopic,
  type Register,
  type Subscribe,
  type SubscribeTopic,
  type Unsubscribe,
} from './types.js';

/** What a client needs of its listener. */
export interface ClientHost {
  readonly broker: Broker;
  readonly options: ResolvedMqttSnOptions;
  readonly stats: GatewayStats;
  readonly info: ListenerInfo;
  /** Encodes `m` (inside the client's forwarder encapsulation, if any) and sends it. */
  send(client: GatewayClient, m: SnMessage): void;
  /** The client is gone: its address is free. */
  forget(client: GatewayClient): void;
  /** The client has datagrams awaiting acknowledgement: the sweep retransmits them. */
  retrying(client: GatewayClient): void;
}

export type ClientState = 'new' | 'will-topic' | 'will-msg' | 'authenticating' | 'active' | 'asleep' | 'awake' | 'closed';

interface Will {
  topic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  payload: Buffer;
}

/** A datagram sent and not yet acknowledged (6.13). */
interface Unacked {
  message: SnMessage;
  sentAt: number;
  tries: number;
}

/** A delivery waiting for its client to wake or for its topic's REGACK. */
interface Waiting {
  message: Message;
  qos: MqttQoS;
  retain: boolean;
  packetId: number;
  dup: boolean;
}

const EMPTY = Buffer.alloc(0);

export class GatewayClient implements ConnectedClient {
  // What hooks, the registry and the operations views see (ClientInfo). MQTT-SN clients
  // have 3.1.1's semantics (no properties, Clean Session, no reason codes).
  readonly protocolVersion = 4 as const;
  readonly listener: string;
  readonly connectedAt = Date.now();
  lastSeen = this.connectedAt;
  keepalive = 0;
  username: string | undefined = undefined;
  readonly sendWindow: number;
  // UDP has no back pressure to report: a sleeping client's messages wait in `waiting`.
  readonly congested = false;

  state: ClientState = 'new';
  private clientId = '';
  private clean = true;
  private sleepDuration = 0;
  /** The will as it stands (shown in the client view). */
  will: Will | undefined = undefined;
  private session: Session | undefined = undefined;
  private joined = false;
  /** When the CONNECT that started the current dialogue came (limits.connectTimeout). */
  private connectingSince = 0;

  // Topic ids (5.3.11): those REGISTER, SUBSCRIBE and the gateway's REGISTER assigned.
  // Allocated on first use: an idle client holds none.
  private idsByName: Map<string, number> | undefined = undefined;
  private namesById: Map<number, string> | undefined = undefined;
  private nextTopicId = 1;
  /** Topic names whose REGISTER from the gateway awaits REGACK, by the REGISTER's MsgId. */
  private registering: Map<number, string> | undefined = undefined;
  private nextRegisterId = 1;

  /** Sent and unacknowledged: `p`+MsgId PUBLISH, `r`+MsgId PUBREL, `g`+MsgId REGISTER. */
  readonly unacked = new Map<string, Unacked>();
  private waiting: Waiting[] = [];
  private waitingQos0 = 0;

  constructor(
    private readonly host: ClientHost,
    /** `host:port` of the client, or of its forwarder with the Wireless Node Id. */
    readonly remoteAddress: string,
    /** Where its datagrams go: the client, or its forwarder. */
    readonly endpoint: { readonly address: string; readonly port: number },
    /** The forwarder encapsulation replies go in (5.5), when the client is behind one. */
    readonly forwarder: { radius: number; wirelessNodeId: Buffer } | undefined,
  ) {
    this.listener = host.info.name;
    this.sendWindow = Math.min(host.options.sendWindow, host.broker.limits.maxInflight);
  }

  get id(): string {
    return this.clientId;
  }

  /** One message from this client's address. */
  handle(m: SnMessage): void | Promise<void> {
    this.lastSeen = Date.now();
    switch (m.type) {
      case 'connect':
        return this.onConnect(m);
      case 'willtopic':
        return this.onWillTopic(m.will);
      case 'willmsg':
        return this.onWillMsg(m.payload);
      default:
        break;
    }
    // Only a connected client (active, asleep or awake) has a session to act on.
    if (this.session === undefined || (this.state !== 'active' && this.state !== 'asleep' && this.state !== 'awake')) {
      this.host.stats.dropped.unexpected++;
      return;
    }
    switch (m.type) {
      case 'register':
        return this.onRegister(m);
      case 'regack':
        return this.onRegack(m.msgId, m.returnCode);
      case 'publish':
        return this.onPublish(m);
      case 'puback':
        return this.onPuback(m.topicId, m.msgId, m.returnCode);
      case 'pubrec':
        return this.onPubrec(m.msgId);
      case 'pubrel':
        return this.onPubrel(m.msgId);
      case 'pubcomp':
        return this.onPubcomp(m.msgId);
      case 'subscribe':
        return this.onSubscribe(m);
      case 'unsubscribe':
        return this.onUnsubscribe(m);
      case 'pingreq':
        return this.onPingreq(m.clientId);
      case 'disconnect':
        return this.onDisconnect(m.duration);
      case 'willtopicupd':
        return this.onWillTopicUpdate(m.will);
      case 'willmsgupd':
        return this.onWillMsgUpdate(m.payload);
      default:
        // CONNACK, SUBACK, GWINFO ... are the gateway's to send, not to receive.
        this.host.stats.dropped.unexpected++;
    }
  }

  // Connecting (6.3, 6.4): CONNECT, then WILLTOPICREQ/WILLTOPIC and WILLMSGREQ/WILLMSG when
  // the Will flag is set, then authentication and the session.

  private onConnect(c: Connect): void | Promise<void> {
    if (this.joined && c.clientId !== this.clientId) {
      // Another client on this address (a device restarted with another id): the old one
      // is gone without a DISCONNECT, so its will goes out.
      this.end('replaced by another client on its address', true, false);
      this.state = 'new';
    }
    this.clientId = c.clientId;
    this.clean = c.cleanSession;
    this.keepalive = c.duration;
    this.connectingSince = Date.now();
    const template = this.host.options.username;
    this.username = template === undefined ? undefined : template.replaceAll('%c', c.clientId);
    if (c.will) {
      this.will = undefined;
      this.state = 'will-topic';
      this.host.send(this, { type: 'willtopicreq' });
      return;
    }
    // A CONNECT without the Will flag: no will [MQTT-SN 6.3], unless it resumes a session
    // and the client updates it later.
    this.will = undefined;
    return this.authenticate();
  }

  private onWillTopic(will: { qos: 0 | 1 | 2; retain: boolean; topic: string } | null): void | Promise<void> {
    if (this.state !== 'will-topic') {
      this.host.stats.dropped.unexpected++;
      return;
    }
    if (will === null) {
      // An empty WILLTOPIC: the client has no will after all (5.4.7).
      return this.authenticate();
    }
    if (validateTopicName(will.topic, this.topicLimits()) !== undefined || will.topic.charCodeAt(0) === 0x24) {
      this.refuse(ReturnCode.NOT_SUPPORTED, 'invalid will topic');
      return;
    }
    this.will = { ...will, payload: EMPTY };
    this.state = 'will-msg';
    this.host.send(this, { type: 'willmsgreq' });
  }

  private onWillMsg(payload: Buffer): void | Promise<void> {
    if (this.state !== 'will-msg' || this.will === undefined) {
      this.host.stats.dropped.unexpected++;
      return;
    }
    this.will.payload = Buffer.from(payload);
    return this.authenticate();
  }

  /** The broker's authenticate hooks decide, as for MQTT: by client id and the listener's user name mapping. */
  private authenticate(): void | Promise<void> {
    this.state = 'authenticating';
    const broker = this.host.broker;
    const clientId = this.clientId;
    const username = this.username;
    const verdict = broker.hooks.authenticate({
      clientId,
      username,
      password: undefined,
      remoteAddress: this.remoteAddress,
      listener: this.host.info,
      connect: { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: this.clean, keepalive: this.keepalive, clientId, ...(username !== undefined && { username }) },
    });
    const then = (v: Verdict): void | Promise<void> => {
      if (this.state !== 'authenticating' || this.clientId !== clientId) return;
      if (!v.ok) {
        broker.countLimit('auth_failure');
        broker.log.warn({ clientId, remote: this.remoteAddress, username, reasonCode: v.reasonCode }, 'MQTT-SN authentication failed');
        return this.refuse(ReturnCode.NOT_SUPPORTED, 'authentication failed');
      }
      return this.accept();
    };
    return isPromise(verdict) ? verdict.then(then) : then(verdict);
  }

  private accept(): void | Promise<void> {
    const broker = this.host.broker;
    const expiry = this.clean ? 0 : Math.min(0xffffffff, broker.limits.maxSessionExpiry);
    const opened = broker.sessions.open(this, { clean: this.clean, expiryInterval: expiry });
    if (!opened.ok) {
      broker.log.info({ clientId: this.clientId, remote: this.remoteAddress }, `MQTT-SN CONNECT refused: ${opened.reason}`);
      return this.refuse(opened.reasonCode === 0x97 ? ReturnCode.CONGESTION : ReturnCode.NOT_SUPPORTED, opened.reason);
    }
    const { session, present } = opened;
    if (this.session !== session || !present) this.resetTopics();
    this.session = session;
    this.state = 'active';
    this.sleepDuration = 0;
    broker.persistence?.connected(this as unknown as Connection, this.willMessage(), 0);
    const connack = (): void => {
      if (this.session !== session || this.state === 'closed') return;
      this.host.send(this, { type: 'connack', returnCode: ReturnCode.ACCEPTED });
      broker.log.info({ clientId: this.clientId, remote: this.remoteAddress, listener: this.listener, clean: this.clean, keepalive: this.keepalive, sessionPresent: present }, 'MQTT-SN client connected');
      session.resume(this);
      this.flush();
      if (!this.joined) {
        this.joined = true;
        broker.joined(this);
      }
    };
    const durable = broker.durable();
    if (durable === undefined) return connack();
    return durable.then(connack, () => this.end('store commit failed', true));
  }

  /** CONNACK with a refusal; the client is forgotten (it holds no session). */
  private refuse(code: ReturnCode, reason: string): void {
    this.host.send(this, { type: 'connack', returnCode: code });
    this.host.broker.log.info({ clientId: this.clientId, remote: this.remoteAddress, reason }, 'MQTT-SN client refused');
    if (!this.joined) {
      this.state = 'closed';
      this.host.forget(this);
    } else this.end(reason, true);
  }

  private willMessage(): Message | undefined {
    const w = this.will;
    return w === undefined ? undefined : { topic: w.topic, payload: w.payload, qos: w.qos, retain: w.retain, origin: this.clientId };
  }

  // Will updates (6.4): the will of a connected client changes without a reconnection.

  private onWillTopicUpdate(will: { qos: 0 | 1 | 2; retain: boolean; topic: string } | null): void {
    if (will === null) this.will = undefined;
    else if (validateTopicName(will.topic, this.topicLimits()) !== undefined || will.topic.charCodeAt(0) === 0x24) {
      this.host.send(this, { type: 'willtopicresp', returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    } else this.will = { ...will, payload: this.will?.payload ?? EMPTY };
    this.afterDurableWill(() => this.host.send(this, { type: 'willtopicresp', returnCode: ReturnCode.ACCEPTED }));
  }

  private onWillMsgUpdate(payload: Buffer): void {
    if (this.will === undefined) {
      // No will topic to go with it: nothing to update.
      this.host.send(this, { type: 'willmsgresp', returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    }
    this.will.payload = Buffer.from(payload);
    this.afterDurableWill(() => this.host.send(this, { type: 'willmsgresp', returnCode: ReturnCode.ACCEPTED }));
  }

  private afterDurableWill(reply: () => void): void {
    const broker = this.host.broker;
    broker.persistence?.connected(this as unknown as Connection, this.willMessage(), 0);
    this.afterDurable(reply);
  }

  // Topic ids.

  private topicLimits(): { maxLength: number; maxLevels: number } {
    const l = this.host.broker.limits;
    return { maxLength: l.maxTopicLength, maxLevels: l.maxTopicLevels };
  }

  private resetTopics(): void {
    this.idsByName = undefined;
    this.namesById = undefined;
    this.registering = undefined;
    this.nextTopicId = 1;
  }

  /** The normal topic id of `name`, assigned now if it has none; 0 when the client holds mqttSn.maxTopicIds. */
  private topicId(name: string): number {
    const known = this.idsByName?.get(name);
    if (known !== undefined) return known;
    const byName = (this.idsByName ??= new Map());
    const byId = (this.namesById ??= new Map());
    if (byName.size >= this.host.options.maxTopicIds) return 0;
    let id = this.nextTopicId;
    while (byId.has(id)) id = id === 0xffff ? 1 : id + 1;
    this.nextTopicId = id === 0xffff ? 1 : id + 1;
    byName.set(name, id);
    byId.set(id, name);
    return id;
  }

  private forgetTopicId(id: number): void {
    const name = this.namesById?.get(id);
    if (name === undefined) return;
    this.namesById!.delete(id);
    this.idsByName!.delete(name);
  }

  /** The topic name a PUBLISH from the client names; undefined for an unknown id. */
  private inboundTopic(t: PublishTopic): string | undefined {
    if (t.type === 'short') return t.name;
    if (t.type === 'predefined') return this.host.options.predefined.get(t.id);
    return this.namesById?.get(t.id);
  }

  /** How a delivery names its topic; undefined when a REGISTER must come first. */
  private outboundTopic(topic: string): PublishTopic | undefined {
    const predefined = this.host.options.predefinedByName.get(topic);
    if (predefined !== undefined) return { type: 'predefined', id: predefined };
    // The id the client was given (SUBACK, REGACK) wins over a short name it may not expect.
    const id = this.idsByName?.get(topic);
    if (id !== undefined) return this.isRegistering(topic) ? undefined : { type: 'normal', id };
    if (topic.length === 2 && Buffer.byteLength(topic) === 2) return { type: 'short', name: topic };
    return undefined;
  }

  /** A REGISTER of this topic from the gateway awaits its REGACK (at most mqttSn.maxTopicIds of them). */
  private isRegistering(name: string): boolean {
    const r = this.registering;
    if (r === undefined) return false;
    for (const n of r.values()) if (n === name) return true;
    return false;
  }

  private onRegister(r: Register): void {
    const name = r.topicName;
    if (validateTopicName(name, this.topicLimits()) !== undefined) {
      this.host.send(this, { type: 'regack', topicId: 0, msgId: r.msgId, returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    }
    const id = this.topicId(name);
    this.host.send(this, { type: 'regack', topicId: id, msgId: r.msgId, returnCode: id === 0 ? ReturnCode.CONGESTION : ReturnCode.ACCEPTED });
  }

  private onRegack(msgId: number, code: ReturnCode): void {
    const name = this.registering?.get(msgId);
    if (name === undefined) return;
    this.registering!.delete(msgId);
    if (this.registering!.size === 0) this.registering = undefined;
    this.unacked.delete(`g${msgId}`);
    if (code !== ReturnCode.ACCEPTED) {
      // The client will not take this topic: its waiting deliveries are discarded as if
      // delivered (like a message too large for an MQTT client [MQTT-3.1.2-25]).
      const id = this.idsByName?.get(name);
      if (id !== undefined) this.forgetTopicId(id);
      const keep: Waiting[] = [];
      for (const w of this.waiting) {
        if (w.message.topic === name) this.discard(w);
        else keep.push(w);
      }
      this.waiting = keep;
    }
    this.flush();
  }

  // PUBLISH from the client (6.5, 6.6, 6.7).

  private onPublish(p: Publish): void | Promise<void> {
    const broker = this.host.broker;
    const stats = broker.stats;
    const qos = p.qos === -1 ? 0 : p.qos;
    stats.publishReceived[qos]++;
    const topicId = p.topic.type === 'short' ? 0 : p.topic.id;
    const topic = this.inboundTopic(p.topic);
    if (topic === undefined || validateTopicName(topic, this.topicLimits()) !== undefined) {
      // An unknown topic id is answered for every QoS (6.5): the client re-registers.
      this.host.send(this, { type: 'puback', topicId, msgId: p.msgId, returnCode: ReturnCode.INVALID_TOPIC_ID });
      return;
    }
    const session = this.session!;
    if (qos === 2 && session.inboundQos2.has(p.msgId)) {
      // A resent QoS 2 PUBLISH is acknowledged again, not delivered again [MQTT-4.3.3-9].
      this.host.send(this, { type: 'pubrec', msgId: p.msgId });
      return;
    }
    if (qos === 2 && session.inboundQos2Count >= broker.limits.receiveMaximum) {
      this.host.send(this, { type: 'puback', topicId, msgId: p.msgId, returnCode: ReturnCode.CONGESTION });
      return;
    }
    // Clients do not publish to $ topics (they belong to the server, e.g. $SYS).
    if (topic.charCodeAt(0) === 0x24) return this.ackPublish(p, topicId, 0x87);
    const message: Message = { topic, payload: p.payload, qos, retain: p.retain, origin: this.clientId };
    const result = broker.publishFrom(this, message, qos > 0);
    if (typeof result === 'number') return this.ackPublish(p, topicId, result);
    return result.then((code) => this.ackPublish(p, topicId, code));
  }

  private ackPublish(p: Publish, topicId: number, code: number): void {
    if (p.qos <= 0 || this.state === 'closed') return;
    if (code >= 0x80) {
      // PUBACK carries a refusal for QoS 1 and 2 alike (5.4.13).
      const returnCode = code === 0x97 ? ReturnCode.CONGESTION : ReturnCode.NOT_SUPPORTED;
      this.host.send(this, { type: 'puback', topicId, msgId: p.msgId, returnCode });
      return;
    }
    if (p.qos === 1) {
      this.afterDurable(() => this.host.send(this, { type: 'puback', topicId, msgId: p.msgId, returnCode: ReturnCode.ACCEPTED }));
      return;
    }
    this.session!.addInboundQos2(p.msgId);
    this.afterDurable(() => this.host.send(this, { type: 'pubrec', msgId: p.msgId }));
  }

  private onPubrel(msgId: number): void {
    this.session!.releaseInboundQos2(msgId);
    this.afterDurable(() => this.host.send(this, { type: 'pubcomp', msgId }));
  }

  // Deliveries to the client: the DeliveryPeer side.

  sendPublish(message: Message, qos: MqttQoS, retain: boolean, _ids: number[] | undefined, packetId: number, dup: boolean): boolean {
    // Too large for a datagram: discarded as if delivered [MQTT-3.1.2-25].
    const size = message.payload.length + 7 + (message.payload.length + 7 > 255 ? 2 : 0);
    if (size > this.host.options.maxDatagramSize) {
      this.host.broker.countDrop('too_large');
      return false;
    }
    if (this.state === 'closed') return true;
    const w: Waiting = { message, qos, retain, packetId, dup };
    if (this.waiting.length === 0 && this.state !== 'asleep') {
      const topic = this.outboundTopic(message.topic);
      if (topic !== undefined) {
        this.transmit(w, topic);
        return true;
      }
    }
    if (qos === 0) {
      if (this.waitingQos0 >= this.host.options.maxSleepBuffer) {
        this.host.stats.sleepBufferDropped++;
        this.host.broker.countDrop('queue_full');
        return true;
      }
      this.waitingQos0++;
    }
    this.waiting.push(w);
    this.flush();
    return true;
  }

  sendPubrel(packetId: number): void {
    this.sendTracked(`r${packetId}`, { type: 'pubrel', msgId: packetId });
  }

  disconnect(reasonCode: number, reason: string): void {
    if (this.state === 'closed') return;
    // MQTT-SN's DISCONNECT carries no reason: the client learns it has to connect again.
    this.host.send(this, { type: 'disconnect' });
    // A sleeping client that wakes with a CONNECT from another address (a new lease, a
    // roaming radio) takes its own session over: it is not lost, so no will.
    const moved = reasonCode === 0x8e && (this.state === 'asleep' || this.state === 'awake');
    this.end(reason, !moved);
  }

  private transmit(w: Waiting, topic: PublishTopic): void {
    const broker = this.host.broker;
    broker.stats.messagesSent++;
    broker.stats.publishSent[w.qos]++;
    const m: Publish = { type: 'publish', dup: w.dup, qos: w.qos, retain: w.retain, topic, msgId: w.qos === 0 ? 0 : w.packetId, payload: w.message.payload };
    if (w.qos === 0) this.host.send(this, m);
    else this.sendTracked(`p${w.packetId}`, m);
  }

  /** Sends the waiting deliveries while the client is awake, registering topics first. */
  private flush(): void {
    if (this.state === 'asleep' || this.state === 'closed' || this.session === undefined) return;
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!;
      const topic = this.outboundTopic(w.message.topic);
      if (topic === undefined) {
        // Order is kept: nothing passes a delivery waiting for its REGACK.
        this.register(w.message.topic);
        if (this.isRegistering(w.message.topic)) break;
        // Topic table full: the client cannot be given this topic.
        this.waiting.shift();
        if (w.qos === 0) this.waitingQos0--;
        this.discard(w);
        continue;
      }
      this.waiting.shift();
      if (w.qos === 0) this.waitingQos0--;
      this.transmit(w, topic);
    }
    this.checkAwake();
  }

  private register(name: string): void {
    if (this.isRegistering(name)) return;
    const id = this.topicId(name);
    if (id === 0) return;
    const msgId = this.nextRegisterId;
    this.nextRegisterId = msgId === 0xffff ? 1 : msgId + 1;
    (this.registering ??= new Map()).set(msgId, name);
    this.sendTracked(`g${msgId}`, { type: 'register', topicId: id, msgId, topicName: name });
  }

  /** A delivery the client will not get: done as far as the session is concerned. */
  private discard(w: Waiting): void {
    const session = this.session;
    if (session === undefined || w.qos === 0) return;
    // The session put it in flight when it handed it over.
    if (w.qos === 1) session.complete(w.packetId, 'publish');
    else session.received(w.packetId, true);
  }

  private onPuback(topicId: number, msgId: number, code: ReturnCode): void {
    this.unacked.delete(`p${msgId}`);
    // The client lost the topic id (6.7): it is registered again for the next delivery.
    if (code === ReturnCode.INVALID_TOPIC_ID) this.forgetTopicId(topicId);
    this.session!.complete(msgId, 'publish');
    this.checkAwake();
  }

  private onPubrec(msgId: number): void {
    this.unacked.delete(`p${msgId}`);
    const known = this.session!.received(msgId, false);
    // After PUBREL the client may forget the MsgId: the new state must be durable first.
    this.afterDurable(() => {
      if (known) this.sendPubrel(msgId);
      else this.host.send(this, { type: 'pubrel', msgId });
    });
  }

  private onPubcomp(msgId: number): void {
    this.unacked.delete(`r${msgId}`);
    this.session!.complete(msgId, 'pubrel');
    this.checkAwake();
  }

  // Retransmission (6.13).

  private sendTracked(key: string, m: SnMessage): void {
    const wasIdle = this.unacked.size === 0;
    this.unacked.set(key, { message: m, sentAt: Date.now(), tries: 0 });
    if (this.state !== 'asleep') this.host.send(this, m);
    if (wasIdle) this.host.retrying(this);
  }

  /**
   * The sweep: resends what waited Tretry, gives up after Nretry, and ends a client whose
   * keep alive (or sleep duration) ran out. False once nothing awaits acknowledgement.
   */
  tick(now: number): boolean {
    if (this.state === 'closed') return false;
    const { retryInterval, maxRetries } = this.host.options;
    if (this.state !== 'asleep') {
      for (const u of this.unacked.values()) {
        if (now - u.sentAt < retryInterval) continue;
        if (u.tries >= maxRetries) {
          this.host.stats.lost++;
          this.host.broker.log.info({ clientId: this.clientId, remote: this.remoteAddress, retries: u.tries }, 'MQTT-SN client lost: no acknowledgement after mqttSn.maxRetries');
          this.end('no acknowledgement (Nretry)', true);
          return false;
        }
        u.tries++;
        u.sentAt = now;
        if (u.message.type === 'publish') u.message = { ...u.message, dup: true };
        this.host.stats.retransmitted++;
        this.host.send(this, u.message);
      }
    }
    return this.unacked.size > 0;
  }

  /** Keep alive, sleep duration and connect timeout; true when the client was ended. */
  checkAlive(now: number): boolean {
    const idle = now - this.lastSeen;
    switch (this.state) {
      case 'active':
        // 1.5 times the Duration without a message, as MQTT's keep alive [MQTT-3.1.2-22].
        if (this.keepalive > 0 && idle > this.keepalive * 1500) return this.lose('keep alive timeout');
        return false;
      case 'asleep':
      case 'awake':
        if (this.sleepDuration > 0 && idle > this.sleepDuration * 1500) return this.lose('sleep duration exceeded');
        return false;
      case 'closed':
        return false;
      default:
        if (now - this.connectingSince > this.host.broker.limits.connectTimeout) {
          if (this.joined) return this.lose('connect dialogue not completed');
          this.state = 'closed';
          this.host.forget(this);
          return true;
        }
        return false;
    }
  }

  private lose(reason: string): boolean {
    this.host.stats.lost++;
    this.end(reason, true);
    return true;
  }

  // Keep alive, sleep (6.14) and leaving.

  private onPingreq(clientId: string | undefined): void {
    if (this.state === 'asleep' || (this.state === 'awake' && clientId !== undefined)) {
      // Awake: the buffered messages go out, then PINGRESP sends the client back to sleep.
      this.state = 'awake';
      for (const u of this.unacked.values()) {
        u.sentAt = Date.now();
        this.host.send(this, u.message);
      }
      this.flush();
      return;
    }
    this.host.send(this, { type: 'pingresp' });
  }

  private checkAwake(): void {
    if (this.state !== 'awake') return;
    const session = this.session;
    if (this.waiting.length > 0 || this.unacked.size > 0 || (session !== undefined && session.queued > 0)) return;
    this.host.send(this, { type: 'pingresp' });
    this.state = 'asleep';
  }

  private onDisconnect(duration: number | undefined): void {
    if (duration !== undefined && duration > 0) {
      // Asleep (6.14): the session stays; deliveries wait until the client wakes.
      this.sleepDuration = duration;
      this.state = 'asleep';
      this.host.send(this, { type: 'disconnect' });
      return;
    }
    this.host.send(this, { type: 'disconnect' });
    this.end('client disconnected', false);
  }

  /**
   * Ends the client: its session is released (ended, or kept for a persistent one), the will
   * goes out unless the client said DISCONNECT, and its address is free.
   */
  end(reason: string, withWill: boolean, forget = true): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const broker = this.host.broker;
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) {
      const will = withWill ? this.willMessage() : undefined;
      if (will === undefined) broker.persistence?.willSettled(this.clientId);
      broker.sessions.release(this, session, will, 0);
      broker.log.info({ clientId: this.clientId, remote: this.remoteAddress, reason }, 'MQTT-SN client disconnected');
    }
    if (this.joined) {
      this.joined = false;
      broker.left(this, reason);
    }
    this.unacked.clear();
    this.waiting = [];
    this.waitingQos0 = 0;
    this.resetTopics();
    if (forget) this.host.forget(this);
  }

  // SUBSCRIBE and UNSUBSCRIBE (6.9).

  /** The filter a SUBSCRIBE or UNSUBSCRIBE names, and the topic id SUBACK returns. */
  private filterOf(t: SubscribeTopic): { filter: string; topicId: number } | undefined {
    if (t.type === 'predefined') {
      const name = this.host.options.predefined.get(t.id);
      return name === undefined ? undefined : { filter: name, topicId: t.id };
    }
    return { filter: t.name, topicId: 0 };
  }

  private onSubscribe(s: Subscribe): void | Promise<void> {
    const broker = this.host.broker;
    const target = this.filterOf(s.topic);
    if (target === undefined) {
      this.host.send(this, { type: 'suback', qos: 0, topicId: 0, msgId: s.msgId, returnCode: ReturnCode.INVALID_TOPIC_ID });
      return;
    }
    let topicId = target.topicId;
    const wildcard = /[+#]/.test(target.filter);
    if (s.topic.type === 'normal' && !wildcard && validateTopicFilter(target.filter, this.topicLimits()) === undefined) {
      // A topic name (no wildcard) gets its topic id in SUBACK, no REGISTER needed (6.9).
      topicId = this.topicId(target.filter);
      if (topicId === 0) {
        this.host.send(this, { type: 'suback', qos: 0, topicId: 0, msgId: s.msgId, returnCode: ReturnCode.CONGESTION });
        return;
      }
    }
    const sub: Subscription = { topicFilter: target.filter, qos: s.qos };
    const verdicts = authorizeSubscriptions(broker, this, [sub]);
    const then = (settled: Array<Verdict | MqttQoS>): void | Promise<void> => {
      const session = this.session;
      if (session === undefined || this.state === 'closed') return;
      const { codes, added } = addSubscriptions(broker, this, session, [sub], settled, undefined, true);
      const code = codes[0]!;
      const returnCode = code < 0x80 ? ReturnCode.ACCEPTED : code === 0x97 ? ReturnCode.CONGESTION : ReturnCode.NOT_SUPPORTED;
      const suback = (): void => {
        this.host.send(this, { type: 'suback', qos: (code < 0x80 ? code : 0) as 0 | 1 | 2, topicId: code < 0x80 ? topicId : 0, msgId: s.msgId, returnCode });
        if (this.session !== session) return;
        deliverRetained(broker, this, session, added, undefined);
        broker.notify(broker.hooks.onSubscribe(this, [sub], codes));
      };
      const durable = broker.durable();
      if (durable === undefined) return suback();
      return durable.then(suback, () => this.end('store commit failed', true));
    };
    return isPromise(verdicts) ? verdicts.then(then) : then(verdicts);
  }

  private onUnsubscribe(u: Unsubscribe): void {
    const target = this.filterOf(u.topic);
    if (target !== undefined) this.host.broker.unsubscribe(this.session!, target.filter);
    this.afterDurable(() => this.host.send(this, { type: 'unsuback', msgId: u.msgId }));
  }

  /**
   * Runs `send` once what the store holds is durable; a failed commit ends the client
   * instead (it retries what it was not told was done).
   */
  private afterDurable(send: () => void): void {
    const durable = this.host.broker.durable();
    if (durable === undefined) return send();
    const session = this.session;
    durable.then(
      () => {
        if (this.state !== 'closed' && this.session === session) send();
      },
      () => this.end('store commit failed', true),
    );
  }
}
