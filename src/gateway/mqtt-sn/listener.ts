// The `mqtt-sn` listener kind: a UDP socket (IPv4 or IPv6) that is an MQTT-SN v1.2 gateway
// inside the broker. Datagrams are checked (size, per-source rate, the codec) before anything
// else sees them; each client address (or forwarder address and Wireless Node Id, 5.5) has
// one GatewayClient, which holds an ordinary broker session. Unlike a stream transport it
// hands the broker no byte stream: its clients are DeliveryPeers that open their sessions
// through broker.sessions.open, as in-process clients do. The gateway also answers SEARCHGW
// with GWINFO, broadcasts ADVERTISE, and takes QoS -1 publishes where the config allows.

import dgram from 'node:dgram';
import type { Broker } from '../../broker/broker.js';
import type { ClientInfo } from '../../broker/types.js';
import type { Listener, ListenerHost, ListenerInfo, ListenerOptions } from '../../transport/types.js';
import { validateTopicName } from '../../topics/index.js';
import { isLoopback } from '../../transport/sockets.js';
import { decode, encode } from './codec.js';
import { GatewayClient, type ClientHost } from './client.js';
import { resolveOptions, type ResolvedMqttSnOptions } from './options.js';
import { newStats, registerStats, type GatewayStats } from './stats.js';
import type { Datagram, Message as SnMessage, Publish } from './types.js';

export const DEFAULT_MQTT_SN_PORT = 1884;

interface Bucket {
  tokens: number;
  at: number;
}

export class MqttSnListener implements Listener, ClientHost {
  readonly options: ResolvedMqttSnOptions;
  readonly stats: GatewayStats;
  /** Clients by `host:port` (and `/wireless-node-id` behind a forwarder). */
  readonly clients = new Map<string, GatewayClient>();
  private socket: dgram.Socket | undefined;
  private infoValue: ListenerInfo | undefined;
  private readonly retries = new Set<GatewayClient>();
  private readonly buckets = new Map<string, Bucket>();
  private timers: NodeJS.Timeout[] = [];
  private unregister: (() => void) | undefined;
  private readonly host: string;

  constructor(
    private readonly listenerOptions: ListenerOptions,
    readonly broker: Broker,
  ) {
    this.options = resolveOptions(listenerOptions.mqttSn);
    this.host = listenerOptions.host ?? '127.0.0.1';
    this.stats = newStats(listenerOptions.name ?? `mqtt-sn:${this.host}:${listenerOptions.port ?? DEFAULT_MQTT_SN_PORT}`);
  }

  get info(): ListenerInfo {
    if (this.infoValue === undefined) throw new Error('the MQTT-SN listener is not open');
    return this.infoValue;
  }

  async open(): Promise<void> {
    // A burst of datagrams waits in the kernel while the broker works: a larger buffer than
    // the default (about 200 KiB on Linux) loses fewer of them.
    const socket = dgram.createSocket({ type: this.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: this.options.receiveBufferSize });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.listenerOptions.port ?? DEFAULT_MQTT_SN_PORT, this.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A send to a vanished client (ICMP unreachable) must not end the listener.
    socket.on('error', (err) => this.broker.log.debug({ err: err.message, listener: this.stats.listener }, 'MQTT-SN socket error'));
    socket.on('message', (buf, rinfo) => this.receive(buf, rinfo));
    const port = socket.address().port;
    const name = this.listenerOptions.name ?? `mqtt-sn:${this.host}:${port}`;
    (this.stats as { listener: string }).listener = name;
    this.infoValue = Object.freeze({
      type: 'mqtt-sn' as const,
      name,
      host: this.host,
      port,
      allowAnonymous: this.listenerOptions.allowAnonymous ?? isLoopback(this.host),
    });
    this.unregister = registerStats(this.broker, this.stats);
    // Retransmission needs a finer clock than Tretry itself; keep alive a coarser one.
    const retryTick = Math.max(20, Math.min(1000, Math.floor(this.options.retryInterval / 4)));
    this.timers.push(setInterval(() => this.retransmit(), retryTick));
    this.timers.push(setInterval(() => this.sweep(), 500));
    const { advertiseTo, advertiseInterval } = this.options;
    if (advertiseTo !== undefined && advertiseInterval > 0) {
      socket.setBroadcast(true);
      this.advertise();
      this.timers.push(setInterval(() => this.advertise(), advertiseInterval * 1000));
    }
    for (const t of this.timers) t.unref();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.unregister?.();
    const socket = this.socket;
    if (socket === undefined) return;
    // The broker disconnects every client right after this returns: their DISCONNECTs go
    // out before the socket closes.
    await new Promise((resolve) => setImmediate(resolve));
    // Clients still in their connect dialogue hold no session: they just go.
    this.clients.clear();
    this.retries.clear();
    this.socket = undefined;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  // Datagrams in.

  private receive(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const stats = this.stats;
    const broker = this.broker;
    stats.datagramsReceived++;
    broker.stats.packetsReceived++;
    broker.stats.bytesReceived += buf.length;
    if (buf.length > this.options.maxDatagramSize) {
      stats.dropped.oversized++;
      return;
    }
    if (!this.admit(rinfo.address)) {
      stats.dropped.rate++;
      return;
    }
    let datagram: Datagram;
    try {
      datagram = decode(buf);
    } catch {
      // Every decode failure is an MqttSnError (the codec's fuzz test holds it to that);
      // whatever it is, the datagram is dropped and counted, never thrown further.
      stats.dropped.malformed++;
      return;
    }
    let key = formatKey(rinfo.address, rinfo.port);
    let forwarder: GatewayClient['forwarder'];
    let message: SnMessage;
    if (datagram.type === 'encapsulated') {
      key = `${key}/${datagram.wirelessNodeId.toString('hex')}`;
      forwarder = { radius: datagram.radius, wirelessNodeId: Buffer.from(datagram.wirelessNodeId) };
      message = datagram.message;
    } else message = datagram;
    try {
      const r = this.dispatch(message, key, rinfo, forwarder);
      if (r !== undefined) r.catch((err: unknown) => broker.log.error({ err, remote: key }, 'MQTT-SN message failed'));
    } catch (err) {
      broker.log.error({ err, remote: key }, 'MQTT-SN message failed');
    }
  }

  private dispatch(m: SnMessage, key: string, rinfo: dgram.RemoteInfo, forwarder: GatewayClient['forwarder']): void | Promise<void> {
    switch (m.type) {
      case 'searchgw':
        // GWINFO answers the searcher directly (6.1): our own GwAdd is the source address.
        this.sendTo(rinfo.address, rinfo.port, forwarder, { type: 'gwinfo', gwId: this.options.gatewayId });
        return;
      case 'advertise':
      case 'gwinfo':
        return; // another gateway's announcement, or a client's answer for us: nothing to do
      case 'connect': {
        let client = this.clients.get(key);
        if (client === undefined || client.state === 'closed') {
          if (this.clients.size >= this.options.maxClients) {
            this.stats.clientsRefused++;
            this.broker.limitHit('connections', { remote: key, clients: this.clients.size, listener: this.stats.listener }, 'MQTT-SN CONNECT refused: mqttSn.maxClients reached');
            this.sendTo(rinfo.address, rinfo.port, forwarder, { type: 'connack', returnCode: 0x01 });
            return;
          }
          client = new GatewayClient(this, key, { address: rinfo.address, port: rinfo.port }, forwarder);
          this.clients.set(key, client);
          this.stats.clients = this.clients.size;
        }
        return client.handle(m);
      }
      case 'publish':
        if (m.qos === -1) return this.publishWithoutConnection(m, key);
        break;
      default:
        break;
    }
    const client = this.clients.get(key);
    if (client === undefined) {
      this.stats.dropped.unknown_client++;
      return;
    }
    return client.handle(m);
  }

  /**
   * QoS -1 (6.8): a PUBLISH from a client that never connected, to a predefined topic id or
   * a short topic name. It is authorized like any publish, by an identity made from its
   * address (`qos-1:host:port`), and only on listeners whose config allows it.
   */
  private publishWithoutConnection(p: Publish, key: string): void | Promise<void> {
    if (!this.options.allowQosMinus1) {
      this.stats.dropped.qos_minus1++;
      return;
    }
    const topic = p.topic.type === 'short' ? p.topic.name : p.topic.type === 'predefined' ? this.options.predefined.get(p.topic.id) : undefined;
    // A short topic name is any two octets the sender chose: like every topic name it may
    // hold no wildcard nor U+0000 [MQTT-3.3.2-2], [MQTT-4.7.3-2], which subscribers would
    // otherwise receive and the retained store keep.
    const limits = this.broker.limits;
    if (topic === undefined || topic.charCodeAt(0) === 0x24 || validateTopicName(topic, { maxLength: limits.maxTopicLength, maxLevels: limits.maxTopicLevels }) !== undefined) {
      this.stats.dropped.qos_minus1++;
      return;
    }
    const id = `qos-1:${key}`;
    const template = this.options.username;
    const client: ClientInfo = { id, protocolVersion: 4, username: template?.replaceAll('%c', id), remoteAddress: key, listener: this.info.name, keepalive: 0 };
    this.broker.stats.publishReceived[0]++;
    const r = this.broker.publishFrom(client, { topic, payload: p.payload, qos: 0, retain: p.retain, origin: id });
    if (typeof r !== 'number') return r.then(() => undefined);
  }

  /** The per-source token bucket (mqttSn.maxDatagramRate, burst one second's worth). */
  private admit(address: string): boolean {
    const rate = this.options.maxDatagramRate;
    if (rate === 0) return true;
    const now = Date.now();
    let b = this.buckets.get(address);
    if (b === undefined) {
      // A flood from spoofed sources must not grow the table without end: beyond the
      // bound, new sources go unmetered until the sweep frees idle entries.
      if (this.buckets.size >= Math.max(10_000, this.options.maxClients * 2)) return true;
      b = { tokens: rate, at: now };
      this.buckets.set(address, b);
    } else {
      b.tokens = Math.min(rate, b.tokens + ((now - b.at) * rate) / 1000);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  // Datagrams out.

  send(client: GatewayClient, m: SnMessage): void {
    this.sendTo(client.endpoint.address, client.endpoint.port, client.forwarder, m);
  }

  private sendTo(address: string, port: number, forwarder: GatewayClient['forwarder'], m: SnMessage): void {
    const socket = this.socket;
    if (socket === undefined) return;
    let buf: Buffer;
    try {
      buf = encode(forwarder === undefined ? m : { type: 'encapsulated', radius: forwarder.radius, wirelessNodeId: forwarder.wirelessNodeId, message: m });
    } catch (err) {
      this.broker.log.warn({ err, type: m.type }, 'MQTT-SN message not encodable');
      return;
    }
    this.stats.datagramsSent++;
    this.broker.stats.packetsSent++;
    this.broker.stats.bytesSent += buf.length;
    try {
      socket.send(buf, port, address);
    } catch (err) {
      this.broker.log.debug({ err, address, port }, 'MQTT-SN send failed');
    }
  }

  private advertise(): void {
    const to = this.options.advertiseTo!;
    this.sendTo(to.host, to.port, undefined, { type: 'advertise', gwId: this.options.gatewayId, duration: Math.min(0xffff, this.options.advertiseInterval) });
  }

  // Clients.

  forget(client: GatewayClient): void {
    if (this.clients.get(client.remoteAddress) === client) this.clients.delete(client.remoteAddress);
    this.retries.delete(client);
    this.stats.clients = this.clients.size;
  }

  retrying(client: GatewayClient): void {
    this.retries.add(client);
  }

  private retransmit(): void {
    const now = Date.now();
    for (const c of this.retries) if (!c.tick(now)) this.retries.delete(c);
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of [...this.clients.values()]) c.checkAlive(now);
    for (const [address, b] of this.buckets) if (now - b.at > 2000) this.buckets.delete(address);
  }
}

/** `host:port`, with an IPv6 host in brackets. */
function formatKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The listener factory for the `mqtt-sn` kind: the host is the broker itself. */
export function mqttSnListener(options: ListenerOptions, host: ListenerHost): Listener {
  if (!('sessions' in host) || !('hooks' in host)) throw new Error('an mqtt-sn listener needs a Broker as its host');
  return new MqttSnListener(options, host as unknown as Broker);
}
