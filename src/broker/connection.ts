// One network client: the decode loop, packet dispatch in arrival order (a handler that
// waits on an async hook pauses the socket and holds later packets), batched writes that
// respect backpressure, outbound encoding, and closing with the right reason.

import type { Duplex } from 'node:stream';
import { Decoder } from '../codec/decoder.js';
import { encode } from '../codec/encoder.js';
import { ProtocolError } from '../codec/errors.js';
import { reasonCodeName } from '../codec/reason-codes.js';
import { MAX_PACKET_SIZE, type ConnectPacket, type Packet, type ProtocolVersion, type QoS, type Will } from '../codec/types.js';
import type { Broker } from './broker.js';
import { connectPacketLimit, inboundQuotaError } from './bounds.js';
import { OutboundAliases } from './flow.js';
import { dispatch } from './handlers/index.js';
import { encodeMessage } from './outbound.js';
import type { Session } from './session.js';
import type { Message } from '../message.js';
import type { ListenerInfo, PeerIdentity } from '../transport/types.js';
import type { ConnectedClient } from './peer.js';

// Writes made while one input chunk (or timer) is handled are corked and flushed together:
// one writev per socket per turn instead of one write per message.
const corked: Connection[] = [];
let flushScheduled = false;
function flushCorked(): void {
  flushScheduled = false;
  for (let i = 0; i < corked.length; i++) corked[i]!.uncork();
  corked.length = 0;
}

export type ConnectionState = 'new' | 'connecting' | 'connected' | 'closed';

// The socket's listeners are shared by every connection and find theirs through this
// property: four closures per connection would cost more than the connection's own fields.
const CONNECTION = Symbol('starling.connection');
type Carrier = Duplex & { [CONNECTION]?: Connection };

export class Connection implements ConnectedClient {
  state: ConnectionState = 'new';
  id = '';
  protocolVersion: ProtocolVersion = 4;
  /** Connected with Mosquitto's bridge flag: its subscriptions are No Local and Retain As Published. */
  bridge = false;
  username: string | undefined = undefined;
  keepalive = 0;
  /** ms timestamp of the last packet received; the broker's sweep enforces keep alive. */
  lastSeen = Date.now();
  readonly acceptedAt = this.lastSeen;
  session: Session | undefined = undefined;
  /** The CONNECT, until the CONNACK has gone out; what outlives it is kept below. */
  connect: ConnectPacket | undefined = undefined;
  /** The CONNECT's will, copied out of the socket's chunk (handlers/connect.ts). */
  will: Will | undefined = undefined;
  /** The CONNECT's Session Expiry Interval (5.0), which a DISCONNECT may not raise from 0. */
  requestedExpiry = 0;
  /** Set by a DISCONNECT that deletes the will (normal disconnection). */
  willCleared = false;

  // Negotiated with the client (5.0 CONNECT properties).
  /** Client's Receive Maximum, capped by the broker's maxInflight. */
  sendWindow = 65_535;
  /** Client's Maximum Packet Size (no packet can be larger than MAX_PACKET_SIZE anyway). */
  maxOutboundPacket = MAX_PACKET_SIZE;
  aliasesIn: Map<number, string> | undefined = undefined;
  aliasesOut: OutboundAliases | undefined = undefined;
  /** Inbound QoS 1/2 publishes being handled, acknowledgement not yet sent (Receive Maximum). */
  inboundUnacked = 0;
  /** Inbound QoS 1/2 publishes waiting in the backlog behind an async step. */
  backlogUnacked = 0;
  /** State carried between the steps of an enhanced authentication exchange. */
  auth: { method: string; step: number; state: Record<string, unknown>; onSuccess: (data: Buffer | undefined) => void | Promise<void> } | undefined = undefined;

  private readonly decoder: Decoder;
  /** Not yet accepted: the decoder takes packets up to limits.maxConnectPacketSize only. */
  private preConnect = true;
  private isCorked = false;
  private waiting = false;
  /** Packets that arrived while a handler was waiting on a promise; allocated when needed. */
  private backlog: Packet[] | undefined = undefined;

  constructor(
    readonly broker: Broker,
    readonly socket: Duplex,
    readonly listenerInfo: ListenerInfo,
    readonly remoteAddress: string,
    /** What the transport proved about the client (TLS client certificate). */
    readonly peer: PeerIdentity | undefined = undefined,
  ) {
    this.decoder = new Decoder(this, {
      role: 'server',
      maxPacketSize: connectPacketLimit(broker.limits),
    });
    (socket as Carrier)[CONNECTION] = this;
    socket.on('data', Connection.onSocketData);
    socket.on('error', Connection.onSocketError);
    socket.on('close', Connection.onSocketClose);
    socket.on('drain', Connection.onSocketDrain);
  }

  private static onSocketData(this: Carrier, chunk: Buffer): void {
    this[CONNECTION]!.onData(chunk);
  }

  private static onSocketError(this: Carrier, err: Error): void {
    this[CONNECTION]!.close(`socket error: ${err.message}`);
  }

  private static onSocketClose(this: Carrier): void {
    this[CONNECTION]!.close('connection lost');
  }

  private static onSocketDrain(this: Carrier): void {
    this[CONNECTION]!.session?.pump();
  }

  get listener(): string {
    return this.listenerInfo.name;
  }

  get connectedAt(): number {
    return this.acceptedAt;
  }

  /** QoS 1/2 publishes received and not yet acknowledged: the Receive Maximum's count. */
  get unacknowledged(): number {
    return this.inboundUnacked + this.backlogUnacked + (this.session?.inboundQos2Count ?? 0);
  }

  /** True while the socket holds more than the broker lets it buffer. */
  get congested(): boolean {
    return this.socket.writableLength > this.broker.limits.maxSocketBuffer;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.broker.stats.bytesReceived += chunk.length;
    if (this.preConnect && this.state === 'connected') this.connected();
    try {
      this.decoder.push(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) {
        if (this.preConnect && err.reasonCode === 0x95) this.broker.countLimit('connect_packet');
        this.protocolViolation(err);
      } else this.fail(err);
    }
  }

  /** Accepted: packets up to limits.maxPacketSize from now on (bounds.ts connectPacketLimit). */
  private connected(): void {
    this.preConnect = false;
    this.decoder.maxPacketSize = this.broker.limits.maxPacketSize;
  }

  /** The decoder's sink: each packet, in the order it arrived. */
  onPacket(packet: Packet): void {
    this.lastSeen = Date.now();
    const stats = this.broker.stats;
    stats.packetsReceived++;
    if (packet.type === 'publish') stats.publishReceived[packet.qos]++;
    if (this.state === 'new') this.protocolVersion = this.decoder.protocolVersion ?? 4;
    if (this.waiting || (this.backlog !== undefined && this.backlog.length > 0)) {
      if (packet.type === 'publish' && packet.qos > 0) {
        // Waiting publishes count against the Receive Maximum too [MQTT-3.3.4-9].
        const over = inboundQuotaError(this.protocolVersion, this.unacknowledged, this.broker.limits.receiveMaximum);
        if (over !== undefined) {
          this.protocolViolation(over);
          return;
        }
        this.backlogUnacked++;
      }
      (this.backlog ??= []).push(packet);
      return;
    }
    this.run(packet);
    // A CONNECT accepted at once: the packets after it in this chunk may be large.
    if (this.preConnect && this.state === 'connected') this.connected();
  }

  /** Runs a handler; if it returns a promise, later packets wait for it, in order. */
  private run(packet: Packet): void {
    let pending: void | Promise<void>;
    try {
      pending = dispatch(this, packet);
    } catch (err) {
      this.handlerError(err);
      return;
    }
    if (pending === undefined) return;
    this.waiting = true;
    this.socket.pause();
    pending.then(
      () => {
        this.waiting = false;
        this.drainBacklog();
      },
      (err: unknown) => this.handlerError(err),
    );
  }

  private drainBacklog(): void {
    const backlog = this.backlog;
    while (backlog !== undefined && backlog.length > 0 && !this.waiting && this.state !== 'closed') {
      const packet = backlog.shift()!;
      if (packet.type === 'publish' && packet.qos > 0) this.backlogUnacked--;
      this.run(packet);
    }
    if (backlog !== undefined && backlog.length === 0 && this.backlog === backlog) this.backlog = undefined;
    if (!this.waiting && this.state !== 'closed') this.socket.resume();
  }

  private handlerError(err: unknown): void {
    if (err instanceof ProtocolError) this.protocolViolation(err);
    else this.fail(err);
  }

  /**
   * A client broke the protocol: a 5.0 client is told why with DISCONNECT (or CONNACK when
   * the CONNECT itself was bad), then the connection closes; the will is published.
   */
  protocolViolation(err: ProtocolError): void {
    if (this.state === 'closed') return;
    this.broker.countProtocolError(err.reasonCode);
    this.broker.log.warn(
      { clientId: this.id || undefined, remote: this.remoteAddress, reasonCode: err.reasonCode },
      `protocol error: ${err.message}`,
    );
    if (this.state === 'new' || this.state === 'connecting') {
      const version = this.decoder.protocolVersion;
      if (err.reasonCode === 0x84) this.connackAndClose(0x84, version === 5 ? 5 : 4);
      else if (version === 5) this.connackAndClose(err.reasonCode, 5);
      else this.close(err.message);
      return;
    }
    this.disconnect(err.reasonCode, err.message);
  }

  private fail(err: unknown): void {
    this.broker.log.error({ err, clientId: this.id }, 'internal error handling a packet');
    if (this.state === 'connecting') this.connackAndClose(0x83, this.protocolVersion);
    else this.disconnect(0x83, 'internal error');
  }

  /** Server-side DISCONNECT (5.0 only; older clients are just closed), then close. */
  disconnect(reasonCode: number, reason: string, reasonString?: string): void {
    if (this.state === 'closed') return;
    if (this.protocolVersion === 5 && this.state === 'connected') {
      const properties: { reasonString?: string; serverReference?: string } = {};
      if (reasonString !== undefined) properties.reasonString = reasonString;
      if ((reasonCode === 0x9c || reasonCode === 0x9d) && this.broker.options.serverReference) {
        properties.serverReference = this.broker.options.serverReference;
      }
      this.write(encode({ type: 'disconnect', reasonCode, properties }, 5));
    }
    this.close(`${reason} (${reasonCodeName(reasonCode)})`);
  }

  /** Refuses a CONNECT: CONNACK with the code in the client's protocol version, then close. */
  connackAndClose(reasonCode: number, version: ProtocolVersion): void {
    const code = version === 5 ? reasonCode : toV3ReturnCode(reasonCode);
    const properties = version === 5 && (reasonCode === 0x9c || reasonCode === 0x9d) && this.broker.options.serverReference
      ? { serverReference: this.broker.options.serverReference }
      : undefined;
    this.write(encode({ type: 'connack', sessionPresent: false, reasonCode: code, ...(properties && { properties }) }, version));
    this.close(`connection refused: ${reasonCodeName(reasonCode)}`);
  }

  write(buf: Buffer): void {
    if (this.state === 'closed') return;
    if (!this.isCorked) {
      this.isCorked = true;
      this.socket.cork();
      corked.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushCorked);
      }
    }
    this.socket.write(buf);
    const stats = this.broker.stats;
    stats.bytesSent += buf.length;
    stats.packetsSent++;
  }

  uncork(): void {
    this.isCorked = false;
    this.socket.uncork();
  }

  send(packet: Packet): void {
    this.write(encode(packet, this.protocolVersion));
  }

  /**
   * Sends one PUBLISH to this client. Returns false when it was not sent because it is
   * larger than the client's Maximum Packet Size [MQTT-3.1.2-24].
   */
  sendPublish(message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean): boolean {
    const buf = encodeMessage(this, message, qos, retain, subscriptionIds, packetId, dup);
    if (buf === undefined) {
      this.broker.countDrop('too_large');
      return false;
    }
    this.write(buf);
    this.broker.stats.messagesSent++;
    this.broker.stats.publishSent[qos]++;
    return true;
  }

  sendPubrel(packetId: number): void {
    this.write(encode({ type: 'pubrel', packetId }, this.protocolVersion));
  }

  /** Closes the connection once; the broker publishes the will and settles the session. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (this.isCorked) {
      this.isCorked = false;
      this.socket.uncork();
    }
    // end() lets a final CONNACK or DISCONNECT out; destroy() stops a peer that never reads.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.broker.onClose(this, wasConnected, reason);
  }
}

/** The 3.1/3.1.1 CONNACK return code for a 5.0 reason code (section 3.2.2.3). */
function toV3ReturnCode(reasonCode: number): number {
  switch (reasonCode) {
    case 0x84:
      return 0x01;
    case 0x85:
      return 0x02;
    case 0x86:
      return 0x04;
    case 0x87:
    case 0x8a:
      return 0x05;
    default:
      return 0x03; // Server unavailable: the closest of the six for anything else.
  }
}
