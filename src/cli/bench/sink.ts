// The trivial sink: the least a server can do and still carry every scenario. It answers
// CONNECT, SUBSCRIBE, PINGREQ and QoS 1/2 publishes, matches topics against exact filters
// (a Map) and a short list of wildcard ones, and forwards each PUBLISH's bytes unchanged,
// one write per subscriber per input chunk. No sessions, no packet ids of its own, no
// retained messages, no checks. Its figures are the generator's ceiling on this machine:
// a broker measured by the generator can look no faster than this.

import net from 'node:net';
import { decode, encode, type Packet, type ProtocolVersion } from '../../codec/index.js';

/** Bytes queued to one subscriber beyond which the sink drops what it would forward. */
const MAX_QUEUED = 16 * 1024 * 1024;

interface Wildcard {
  parts: string[];
  conn: SinkConnection;
}

class Registry {
  readonly exact = new Map<string, SinkConnection[]>();
  wild: Wildcard[] = [];
  /** Bumped on every change, for the connections' last-topic caches. */
  version = 0;

  add(filter: string, conn: SinkConnection): void {
    this.version++;
    if (filter.includes('+') || filter.includes('#')) {
      this.wild.push({ parts: filter.split('/'), conn });
      return;
    }
    const key = latin1Key(filter);
    const list = this.exact.get(key);
    if (!list) this.exact.set(key, [conn]);
    else if (!list.includes(conn)) list.push(conn);
  }

  remove(conn: SinkConnection): void {
    this.version++;
    for (const f of conn.filters) {
      const key = latin1Key(f);
      const list = this.exact.get(key);
      if (list) {
        const rest = list.filter((c) => c !== conn);
        if (rest.length === 0) this.exact.delete(key);
        else this.exact.set(key, rest);
      }
    }
    this.wild = this.wild.filter((w) => w.conn !== conn);
  }

  /** The connections whose filters match the topic in buf[start..end), each once. */
  match(buf: Buffer, start: number, end: number): SinkConnection[] {
    // Exact filters are keyed by their UTF-8 bytes read as latin1: no UTF-8 decoding here.
    const list = this.exact.get(buf.toString('latin1', start, end));
    if (this.wild.length === 0) return list ?? [];
    const found = list ? [...list] : [];
    const levels = buf.toString('utf8', start, end).split('/');
    for (const w of this.wild) if (matches(w.parts, levels) && !found.includes(w.conn)) found.push(w.conn);
    return found;
  }
}

function latin1Key(topic: string): string {
  return Buffer.from(topic, 'utf8').toString('latin1');
}

function matches(filter: string[], topic: string[]): boolean {
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i]!;
    if (f === '#') return true;
    if (i >= topic.length) return false;
    if (f !== '+' && f !== topic[i]) return false;
  }
  return filter.length === topic.length;
}

class SinkConnection {
  version: ProtocolVersion = 4;
  readonly filters: string[] = [];
  /** Output of the current input chunk, flushed once after it. */
  out: Buffer[] = [];
  dropped = 0;
  private rangeBuf: Buffer | undefined;
  private rangeStart = 0;
  private rangeEnd = 0;
  /** The last PUBLISH's topic, where it lies in its chunk. */
  private lastTopic: Buffer | undefined;
  private lastStart = 0;
  private lastEnd = 0;
  private lastTargets: SinkConnection[] = [];
  private lastVersion = -1;
  private rest: Buffer | undefined;
  private connected = false;

  constructor(
    readonly socket: net.Socket,
    private readonly sink: Sink,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => sink.registry.remove(this));
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    const n = buf.length;
    let i = 0;
    try {
      while (n - i >= 2) {
        let len = 0;
        let mul = 1;
        let j = i + 1;
        let byte = 0x80;
        while (byte & 0x80 && j < n && mul <= 128 ** 3) {
          byte = buf[j++]!;
          len += (byte & 0x7f) * mul;
          mul *= 128;
        }
        if (byte & 0x80 || j + len > n) break;
        this.packet(buf, i, j, j + len);
        i = j + len;
      }
    } catch {
      this.socket.destroy();
      return;
    }
    if (i < n) this.rest = buf.subarray(i);
    this.sink.flush();
  }

  private packet(buf: Buffer, first: number, start: number, end: number): void {
    const type = buf[first]! >> 4;
    switch (type) {
      case 3: {
        // PUBLISH: answer QoS 1/2, forward the bytes as they came.
        const qos = (buf[first]! >> 1) & 3;
        const topicEnd = start + 2 + ((buf[start]! << 8) | buf[start + 1]!);
        if (qos > 0) this.queue(Buffer.from([qos === 1 ? 0x40 : 0x50, 2, buf[topicEnd]!, buf[topicEnd + 1]!]));
        for (const c of this.targets(buf, start + 2, topicEnd)) c.queueRange(buf, first, end);
        return;
      }
      case 6: // PUBREL
        this.queue(Buffer.from([0x70, 2, buf[start]!, buf[start + 1]!]));
        return;
      case 12: // PINGREQ
        this.queue(Buffer.from([0xd0, 0]));
        return;
      case 14: // DISCONNECT
        this.socket.end();
        return;
      case 4:
      case 5:
      case 7:
        return; // a subscriber's acknowledgements: nothing is waiting for them
    }
    const p: Packet = decode(buf.subarray(first, end), this.connected ? { protocolVersion: this.version } : {});
    if (p.type === 'connect') {
      this.version = p.protocolVersion;
      this.connected = true;
      this.queue(encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, this.version));
    } else if (p.type === 'subscribe') {
      for (const s of p.subscriptions) {
        this.filters.push(s.topicFilter);
        this.sink.registry.add(s.topicFilter, this);
      }
      this.queue(encode({ type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((s) => s.qos) }, this.version));
    } else if (p.type === 'unsubscribe') {
      this.queue(encode({ type: 'unsuback', packetId: p.packetId, reasonCodes: p.topicFilters.map(() => 0) }, this.version));
    }
  }

  /**
   * The subscribers of the topic at buf[start..end): the last topic's answer while the topic
   * bytes and the subscriptions are unchanged (a publisher mostly repeats its topic).
   */
  private targets(buf: Buffer, start: number, end: number): SinkConnection[] {
    const last = this.lastTopic;
    if (
      last !== undefined &&
      this.lastVersion === this.sink.registry.version &&
      this.lastEnd - this.lastStart === end - start &&
      buf.compare(last, this.lastStart, this.lastEnd, start, end) === 0
    ) {
      return this.lastTargets;
    }
    this.lastTargets = this.sink.registry.match(buf, start, end);
    this.lastTopic = buf;
    this.lastStart = start;
    this.lastEnd = end;
    this.lastVersion = this.sink.registry.version;
    return this.lastTargets;
  }

  /** Queues buf[start..end); back-to-back ranges of one chunk become one slice. */
  queueRange(buf: Buffer, start: number, end: number): void {
    if (this.rangeBuf === buf && this.rangeEnd === start) {
      this.rangeEnd = end;
      return;
    }
    if (this.isFull()) return;
    this.commitRange();
    this.rangeBuf = buf;
    this.rangeStart = start;
    this.rangeEnd = end;
  }

  queue(bytes: Buffer): void {
    if (this.isFull()) return;
    this.commitRange();
    this.out.push(bytes);
  }

  private isFull(): boolean {
    if (this.socket.writableLength <= MAX_QUEUED) {
      if (this.out.length === 0 && this.rangeBuf === undefined) this.sink.touched.push(this);
      return false;
    }
    this.dropped++;
    return true;
  }

  private commitRange(): void {
    if (this.rangeBuf === undefined) return;
    this.out.push(this.rangeBuf.subarray(this.rangeStart, this.rangeEnd));
    this.rangeBuf = undefined;
  }

  write(): void {
    this.commitRange();
    const out = this.out;
    this.out = [];
    if (this.socket.destroyed || out.length === 0) return;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }
}

export class Sink {
  readonly registry = new Registry();
  readonly touched: SinkConnection[] = [];
  readonly server: net.Server;

  constructor() {
    this.server = net.createServer((socket) => new SinkConnection(socket, this));
  }

  flush(): void {
    for (const c of this.touched) c.write();
    this.touched.length = 0;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, backlog: 4096 }, () => resolve((this.server.address() as net.AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
