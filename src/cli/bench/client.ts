// The generator's MQTT clients: a net.Socket (a TLS socket with --tls), a frame scanner that
// reads only fixed headers (and, for PUBLISH, the few bytes it checks), and a role. Control
// packets that come once (CONNACK, SUBACK) go through Starling's decoder; PUBLISH and
// acknowledgements are counted in place, and the acknowledgements they call for leave in one
// write per event loop turn.

import net from 'node:net';
import tls from 'node:tls';
import { decode, type ProtocolVersion, type QoS } from '../../codec/index.js';
import { C } from './stats.js';
import { DISCONNECT, PAYLOAD_HEADER, PINGREQ, buildBatch, connectPacket, stamp, subscribePacket, writeAck, type Batch } from './wire.js';

export interface ClientContext {
  host: string;
  port: number;
  /** The subscribers' port when it is not `port` (another cluster node). */
  subscriberPort?: number;
  version: ProtocolVersion;
  qos: QoS;
  payloadSize: number;
  counters: Float64Array;
  /** Base of the payload time stamps: process.hrtime.bigint() at the run's start. */
  base: bigint;
  timeoutMs: number;
  /** TLS options shared by every connection (see tlsOptions), or undefined for plain TCP. */
  tls: tls.ConnectionOptions | undefined;
  /** First few error messages, for the report. */
  errors: string[];
}

/**
 * The TLS options of every connection of a worker. One secure context for all: given only
 * `ca`, tls.connect would build a context (parse the CA, make an SSL_CTX) per connection,
 * and the generator, not the broker, would set the pace of a TLS storm. No session is
 * offered for resumption, so every connection pays a full handshake.
 */
export function tlsOptions(ca: string | undefined): tls.ConnectionOptions {
  return ca === undefined
    ? { secureContext: tls.createSecureContext(), rejectUnauthorized: false }
    : { secureContext: tls.createSecureContext({ ca }) };
}

export function now(base: bigint): number {
  return Number(process.hrtime.bigint() - base);
}

function note(ctx: ClientContext, message: string): void {
  ctx.counters[C.errors]!++;
  if (ctx.errors.length < 10) ctx.errors.push(message);
}

export abstract class BenchClient {
  /** Made by open(): a TLS socket connects as it is made. */
  private sock: net.Socket | undefined;
  /** CONNACK accepted. */
  connected = false;
  protected serverReceiveMaximum = 65_535;
  private rest: Buffer | undefined;
  private pending: Map<number, { resolve: () => void; reject: (e: Error) => void }> = new Map();
  private closing = false;
  private dead: Error | undefined;
  /** TLS: the first session ticket the broker sent, and the one offered when opening (--tls-resume). */
  tlsSession: Buffer | undefined;
  /** TLS: the broker resumed the offered session instead of a full handshake. */
  resumed = false;

  constructor(
    protected readonly ctx: ClientContext,
    readonly clientId: string,
  ) {}

  /** The connection's socket; only after open(). */
  get socket(): net.Socket {
    if (this.sock === undefined) throw new Error(`${this.clientId}: not opened`);
    return this.sock;
  }

  /** The port this client connects to. */
  protected port(): number {
    return this.ctx.port;
  }

  /** Connects and completes CONNECT/CONNACK; rejects on refusal, close or timeout. */
  open(keepalive = 60): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(-1);
        reject(new Error(`${this.clientId}: no CONNACK within ${this.ctx.timeoutMs} ms`));
      }, this.ctx.timeoutMs);
      this.pending.set(-1, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const { host } = this.ctx;
      const port = this.port();
      const hello = (): void => {
        if (this.sock instanceof tls.TLSSocket) this.resumed = this.sock.isSessionReused();
        this.sock!.write(connectPacket(this.clientId, this.ctx.version, keepalive));
      };
      const t = this.ctx.tls;
      const offered = this.tlsSession;
      const socket = t === undefined ? net.connect({ host, port }, hello) : tls.connect({ ...t, ...(offered && { session: offered }), host, port }, hello);
      if (socket instanceof tls.TLSSocket) socket.once('session', (s: Buffer) => (this.tlsSession = s));
      socket.setNoDelay(true);
      this.sock = socket;
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', (err) => this.fail(`${this.clientId}: ${err.message}`));
      socket.on('close', () => this.fail(`${this.clientId}: connection closed by the broker`));
      this.attached(socket);
    });
  }

  /** The socket exists (open() made it): a role adds its own listeners. */
  protected attached(_socket: net.Socket): void {}

  /** Sends SUBSCRIBE and resolves on its SUBACK. */
  protected subscribe(packetId: number, filters: readonly string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.dead) {
        reject(this.dead);
        return;
      }
      this.pending.set(packetId, { resolve, reject });
      this.socket.write(subscribePacket(packetId, filters, this.ctx.qos, this.ctx.version));
    });
  }

  /**
   * Sends DISCONNECT and lets the broker close first [MQTT-3.14.4-1], so that TIME_WAIT
   * stays on its side and does not eat this machine's ephemeral ports over repeated runs;
   * after `graceMs` the socket is reset instead. Resolves once the socket is closed.
   */
  close(graceMs = 2000): Promise<void> {
    this.closing = true;
    const socket = this.sock;
    if (socket === undefined || socket.destroyed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.writable && this.dead === undefined) socket.write(DISCONNECT);
    else this.reset(socket);
    const timer = setTimeout(() => {
      if (!socket.destroyed) this.reset(socket);
    }, graceMs);
    return closed.finally(() => clearTimeout(timer));
  }

  /** A reset (RST) leaves no TIME_WAIT here; a TLS socket, whose handle is not TCP's, is destroyed. */
  private reset(socket: net.Socket): void {
    if (socket instanceof tls.TLSSocket) socket.destroy();
    else socket.resetAndDestroy();
  }

  destroy(): void {
    this.closing = true;
    this.sock?.destroy();
  }

  ping(): void {
    if (this.sock?.writable) this.sock.write(PINGREQ);
  }

  private fail(message: string): void {
    if (this.dead) return;
    this.dead = new Error(message);
    if (!this.closing) note(this.ctx, message);
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
    this.stopped();
  }

  /** The connection is over (closed, failed): stop any timers. */
  protected stopped(): void {}

  private onData(chunk: Buffer): void {
    this.ctx.counters[C.bytesIn]! += chunk.length;
    this.chunkStart();
    let buf = chunk;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    const n = buf.length;
    let i = 0;
    while (n - i >= 2) {
      // Remaining Length: one to four bytes of 7 bits each.
      let len = 0;
      let mul = 1;
      let j = i + 1;
      let byte = 0x80;
      while (byte & 0x80) {
        if (j >= n) break;
        if (mul > 128 ** 3) {
          this.protocolFailure('remaining length longer than four bytes');
          return;
        }
        byte = buf[j++]!;
        len += (byte & 0x7f) * mul;
        mul *= 128;
      }
      if (byte & 0x80 || j + len > n) break;
      this.frame(buf, i, j, j + len);
      i = j + len;
    }
    if (i < n) this.rest = buf.subarray(i);
    // What the chunk calls for leaves once per event loop turn, not once per chunk: a broker
    // that writes each packet on its own would otherwise cost a write here per message.
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.runFlush);
    }
  }

  private flushQueued = false;
  private readonly runFlush = (): void => {
    this.flushQueued = false;
    if (!this.socket.destroyed) this.flush();
  };

  /** One whole packet: its first byte at `first`, its body from `start` to `end`. */
  private frame(buf: Buffer, first: number, start: number, end: number): void {
    const b0 = buf[first]!;
    const type = b0 >> 4;
    if (type === 2 || type === 9) {
      let packet;
      try {
        packet = decode(buf.subarray(first, end), { role: 'client', protocolVersion: this.ctx.version });
      } catch (err) {
        this.protocolFailure((err as Error).message);
        return;
      }
      if (packet.type === 'connack') {
        const p = this.pending.get(-1);
        this.pending.delete(-1);
        if (packet.reasonCode !== 0) {
          p?.reject(new Error(`${this.clientId}: CONNACK refused with 0x${packet.reasonCode.toString(16)}`));
          this.destroy();
          return;
        }
        this.serverReceiveMaximum = packet.properties?.receiveMaximum ?? 65_535;
        this.connected = true;
        p?.resolve();
      } else if (packet.type === 'suback') {
        const refused = packet.reasonCodes.filter((c) => c >= 0x80).length;
        this.ctx.counters[C.subscribed]! += packet.reasonCodes.length - refused;
        this.ctx.counters[C.refused]! += refused;
        const p = this.pending.get(packet.packetId);
        this.pending.delete(packet.packetId);
        p?.resolve();
      }
      return;
    }
    if (type === 14) {
      this.protocolFailure('DISCONNECT from the broker');
      return;
    }
    if (type === 13) return; // PINGRESP
    this.packet(b0, buf, start, end);
  }

  protected protocolFailure(message: string): void {
    note(this.ctx, `${this.clientId}: ${message}`);
    this.destroy();
  }

  /** A chunk arrived; its packets follow. */
  protected chunkStart(): void {}
  /** PUBLISH and the acknowledgements, in place. */
  protected abstract packet(b0: number, buf: Buffer, start: number, end: number): void;
  /** Called once per event loop turn after chunks were read: write what they called for. */
  protected flush(): void {}
}

/** A connection that only holds its place, for `connections`. */
export class IdleClient extends BenchClient {
  protected packet(): void {}
}

/** Collected acknowledgements of one chunk, written once. */
class AckBuffer {
  private buf = Buffer.allocUnsafe(4096);
  private len = 0;

  push(firstByte: number, packetId: number): void {
    if (this.len + 4 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    writeAck(this.buf, this.len, firstByte, packetId);
    this.len += 4;
  }

  /** The bytes to write (a copy: the socket keeps it), or undefined. */
  take(): Buffer | undefined {
    if (this.len === 0) return undefined;
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 0;
    return out;
  }
}

export interface SubscriberOptions {
  filters: readonly string[];
  /** Check sequence numbers per publisher (every subscriber gets every message). */
  track: boolean;
  /** Record publish-to-delivery times from `measureFrom` on. */
  latency: boolean;
}

/** A subscriber: counts PUBLISH packets, checks sequences, acknowledges QoS 1 and 2. */
export class Subscriber extends BenchClient {
  /** Per publisher index: bit i set once sequence number i has arrived. */
  private seen: Uint8Array[] = [];
  private highest: number[] = [];
  private readonly acks = new AckBuffer();
  private chunkTime = 0;
  latencies: Float64Array = new Float64Array(1024);
  latencyCount = 0;
  measureFrom = Infinity;

  protected override port(): number {
    return this.ctx.subscriberPort ?? this.ctx.port;
  }

  constructor(
    ctx: ClientContext,
    clientId: string,
    private readonly options: SubscriberOptions,
  ) {
    super(ctx, clientId);
  }

  /** Subscribes to every filter, 100 to a SUBSCRIBE, with up to 8 SUBSCRIBEs unanswered. */
  async subscribeAll(): Promise<void> {
    const filters = this.options.filters;
    let next = 0;
    let packetId = 1;
    const lane = async (): Promise<void> => {
      while (next < filters.length) {
        const part = filters.slice(next, next + 100);
        next += part.length;
        await this.subscribe(packetId++, part);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, Math.ceil(filters.length / 100)) }, lane));
  }

  protected override packet(b0: number, buf: Buffer, start: number, end: number): void {
    const type = b0 >> 4;
    const c = this.ctx.counters;
    if (type === 3) {
      c[C.received]!++;
      const qos = (b0 >> 1) & 3;
      let p = start + 2 + ((buf[start]! << 8) | buf[start + 1]!);
      if (qos > 0) {
        const id = (buf[p]! << 8) | buf[p + 1]!;
        p += 2;
        this.acks.push(qos === 1 ? 0x40 : 0x50, id);
      }
      if (this.ctx.version === 5) {
        // Property Length, a variable byte integer, then the properties.
        let len = 0;
        let mul = 1;
        let byte;
        do {
          byte = buf[p++]!;
          len += (byte & 0x7f) * mul;
          mul *= 128;
        } while (byte & 0x80);
        p += len;
      }
      if (!this.options.track || end - p < PAYLOAD_HEADER) {
        c[C.unique]!++;
        return;
      }
      const pub = buf.readUInt32BE(p);
      const seq = buf.readUInt32BE(p + 4);
      this.track(pub, seq);
      if (this.options.latency) {
        const sent = buf.readDoubleLE(p + 8);
        if (sent >= this.measureFrom) this.recordLatency((this.chunkTime - sent) / 1000);
      }
    } else if (type === 6) {
      // PUBREL: complete the QoS 2 exchange.
      this.acks.push(0x70, (buf[start]! << 8) | buf[start + 1]!);
    }
  }

  private track(pub: number, seq: number): void {
    const c = this.ctx.counters;
    let bits = this.seen[pub];
    const byte = seq >>> 3;
    if (bits === undefined || byte >= bits.length) {
      const grown = new Uint8Array(Math.max(1024, (byte + 1) * 2));
      if (bits) grown.set(bits);
      this.seen[pub] = bits = grown;
    }
    const mask = 1 << (seq & 7);
    if (bits[byte]! & mask) {
      c[C.duplicates]!++;
      return;
    }
    bits[byte]! |= mask;
    c[C.unique]!++;
    const highest = this.highest[pub] ?? -1;
    if (seq < highest) c[C.outOfOrder]!++;
    else this.highest[pub] = seq;
  }

  private recordLatency(us: number): void {
    if (this.latencyCount === this.latencies.length) {
      if (this.latencyCount >= 4_000_000) return; // enough for any percentile shown
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.latencyCount++] = us;
  }

  /** One clock read per chunk, not per message: the time every message in it arrived. */
  protected override chunkStart(): void {
    if (this.options.latency) this.chunkTime = now(this.ctx.base);
  }

  protected override flush(): void {
    const out = this.acks.take();
    if (out) this.socket.write(out);
  }
}

export interface PublisherOptions {
  /** Global index, written into every payload. */
  index: number;
  /** Topics of the pre-encoded batches: one topic, or a pool drawn at random. */
  batches: Batch[];
  /** Messages per second for this publisher; 0 = as fast as the broker reads. */
  rate: number;
  /** Unacknowledged QoS 1/2 publishes allowed. */
  inflight: number;
}

/**
 * A publisher. QoS 0 without a rate writes batches while the socket accepts them (TCP
 * backpressure is the only brake); QoS 1/2 keeps `inflight` publishes unacknowledged; with
 * a rate, a 1 ms timer sends what is due.
 */
export class Publisher extends BenchClient {
  private running = false;
  private seq = 0;
  private nextBatch = 0;
  private inflightNow = 0;
  private window = 0;
  private idCursor = 0;
  private readonly inUse = new Uint8Array(65_536);
  private readonly acks = new AckBuffer();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private yielding = false;
  private readonly nextId = (): number => {
    do this.idCursor = (this.idCursor % 65_535) + 1;
    while (this.inUse[this.idCursor]);
    this.inUse[this.idCursor] = 1;
    return this.idCursor;
  };

  constructor(
    ctx: ClientContext,
    clientId: string,
    private readonly options: PublisherOptions,
  ) {
    super(ctx, clientId);
  }

  protected override attached(socket: net.Socket): void {
    socket.on('drain', () => this.pump());
  }

  start(): void {
    this.running = true;
    this.window = Math.min(this.options.inflight, this.serverReceiveMaximum, 65_000);
    this.startedAt = performance.now();
    if (this.options.rate > 0) this.tick();
    else this.pump();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get inflight(): number {
    return this.inflightNow;
  }

  protected override stopped(): void {
    this.stop();
  }

  /** Writes up to `n` messages (at most one batch) stamped now; returns the bytes written. */
  private send(n: number): number {
    const batches = this.options.batches;
    const batch = batches[this.nextBatch]!;
    if (++this.nextBatch === batches.length) this.nextBatch = 0;
    n = Math.min(n, batch.count);
    const qos = this.ctx.qos;
    const bytes = stamp(batch, n, this.options.index, this.seq, now(this.ctx.base), this.ctx.payloadSize, qos > 0 ? this.nextId : undefined);
    this.seq += n;
    this.ctx.counters[C.sent]! += n;
    if (qos > 0) {
      this.inflightNow += n;
      this.ctx.counters[C.inflight]! += n;
    }
    this.socket.write(bytes);
    return bytes.length;
  }

  /** As fast as allowed: until the socket pushes back, the window is full, or 256 KB this turn. */
  private pump(): void {
    if (!this.running || this.options.rate > 0) return;
    const qos = this.ctx.qos;
    let written = 0;
    for (;;) {
      if (this.socket.writableNeedDrain) return; // 'drain' calls pump again
      const room = qos > 0 ? this.window - this.inflightNow : Infinity;
      if (room <= 0) return; // acknowledgements call pump again
      written += this.send(room);
      if (written > 256 * 1024) {
        // Let the event loop read acknowledgements and the coordinator's messages.
        if (!this.yielding) {
          this.yielding = true;
          setImmediate(() => {
            this.yielding = false;
            this.pump();
          });
        }
        return;
      }
    }
  }

  private tick(): void {
    if (!this.running) return;
    const due = Math.floor(((performance.now() - this.startedAt) / 1000) * this.options.rate) - this.seq;
    let left = due;
    while (left > 0) {
      const room = this.ctx.qos > 0 ? this.window - this.inflightNow : Infinity;
      if (room <= 0) break;
      const n = Math.min(left, room, this.options.batches[this.nextBatch]!.count);
      this.send(n);
      left -= n;
    }
    this.timer = setTimeout(() => this.tick(), 1);
  }

  protected override packet(b0: number, buf: Buffer, start: number): void {
    const type = b0 >> 4;
    const id = (buf[start]! << 8) | buf[start + 1]!;
    if (type === 5) {
      // PUBREC: release it; the id stays in use until PUBCOMP.
      this.acks.push(0x62, id);
      return;
    }
    if (type !== 4 && type !== 7) {
      this.protocolFailure(`unexpected packet type ${type} at a publisher`);
      return;
    }
    if ((type === 4) !== (this.ctx.qos === 1) || !this.inUse[id]) {
      this.protocolFailure(`unexpected ${type === 4 ? 'PUBACK' : 'PUBCOMP'} for packet id ${id}`);
      return;
    }
    this.inUse[id] = 0;
    this.inflightNow--;
    const c = this.ctx.counters;
    c[C.inflight]!--;
    c[C.acked]!++;
  }

  protected override flush(): void {
    const out = this.acks.take();
    if (out) this.socket.write(out);
    if (this.ctx.qos > 0 && this.options.rate === 0) this.pump();
  }
}

/** Pre-encoded batches for a publisher: one topic, or `pool` batches of random topics. */
export function publisherBatches(
  topics: { count: number; at: (i: number) => string },
  ctx: Pick<ClientContext, 'payloadSize' | 'qos' | 'version'>,
  batchSize: number,
  random: () => number,
): Batch[] {
  if (topics.count === 1) return [buildBatch(Array(batchSize).fill(topics.at(0)), ctx.payloadSize, ctx.qos, ctx.version)];
  const pool: Batch[] = [];
  for (let b = 0; b < 256; b++) {
    const names = Array.from({ length: batchSize }, () => topics.at(Math.floor(random() * topics.count)));
    pool.push(buildBatch(names, ctx.payloadSize, ctx.qos, ctx.version));
  }
  return pool;
}
