// A raw MQTT client for the crash tests (test/store/crash.test.ts, the single-node one,
// test/cluster/cluster-sessions-crash.test.ts and test/cluster/cluster-crash.test.ts), and
// their publisher and subscriber: a persistent session that reconnects on its
// own while the broker is down, with its session state kept in the object, as a real client
// keeps it in memory.

import { strict as assert } from 'node:assert';
import net from 'node:net';
import { Decoder, encode, type Packet, type ProtocolVersion, type QoS } from '../../src/codec/index.js';
import { freePort, start, type Proc } from './tools.js';

/** Where the peer connects: the broker's current port. */
export interface Target {
  port: number;
}

/**
 * A client with a persistent session that reconnects on its own (every 50 ms while the broker
 * is down) and keeps its session state in this object, as a real client keeps it in memory.
 */
export class Peer {
  socket: net.Socket | undefined;
  connected = false;
  connects = 0;
  private stopped = false;

  constructor(
    readonly clientId: string,
    readonly version: ProtocolVersion,
    private readonly broker: Target,
    private readonly onPacket: (p: Packet) => void,
    private readonly onConnack: (sessionPresent: boolean) => void,
  ) {}

  send(p: Packet): void {
    if (this.connected) this.socket!.write(encode(p, this.version));
  }

  /** Keeps a connection up until stop(). */
  async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.connected && this.socket === undefined) this.open();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private open(): void {
    const socket = net.connect(this.broker.port, '127.0.0.1');
    this.socket = socket;
    const decoder = new Decoder(
      (p) => {
        if (p.type === 'connack') {
          if (p.reasonCode !== 0) return void socket.destroy();
          this.connected = true;
          this.connects++;
          this.onConnack(p.sessionPresent);
          return;
        }
        // After stop() the broker may still say goodbye (0x8B as it closes): not the test's concern.
        if (this.connected && !this.stopped) this.onPacket(p);
      },
      { role: 'client', protocolVersion: this.version },
    );
    socket.on('connect', () => {
      socket.write(
        encode(
          {
            type: 'connect',
            protocolName: 'MQTT',
            protocolVersion: this.version,
            clean: false,
            keepalive: 0,
            clientId: this.clientId,
            ...(this.version === 5 && { properties: { sessionExpiryInterval: 3600 } }),
          },
          this.version,
        ),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.connected = false;
      if (this.socket === socket) this.socket = undefined;
    });
  }

  stop(): void {
    this.stopped = true;
    this.socket?.end();
  }
}

/**
 * A `starling` process a crash test kills and starts again: on the same port while it is
 * still free (clients reconnect where they were), else on another. `args(port)` is its
 * command line; every process it starts is in `procs`, for the test's clean-up.
 */
export class CrashProcess implements Target {
  proc: Proc | undefined;
  port = 0;
  starts = 0;
  /** What each process this started printed on stdout, once it exited (for a failure's report). */
  readonly logs: string[] = [];

  constructor(
    readonly label: string,
    private readonly args: (port: number) => string[],
    private readonly procs: Set<Proc>,
    private readonly timeoutMs = 180_000,
  ) {}

  get up(): boolean {
    return this.proc !== undefined;
  }

  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.port === 0 || attempt > 0) this.port = await freePort();
      const proc = start(process.execPath, this.args(this.port), { timeoutMs: this.timeoutMs });
      this.procs.add(proc);
      try {
        await this.spawned();
        await proc.line(/"msg":"listening on /, 30_000);
        this.proc = proc;
        this.starts++;
        return;
      } catch (err) {
        this.failed();
        proc.kill();
        await proc.exited;
        this.procs.delete(proc);
        if (attempt >= 3 || !/cannot listen|EADDRINUSE/.test(proc.stderr + proc.stdout)) throw err;
      }
    }
  }

  /** SIGKILL; it must not have exited by itself before. */
  async kill(): Promise<void> {
    const exit = await this.end('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL', `${this.label} exited by itself before it was killed: ${exit.stderr}`);
  }

  /** SIGTERM; with `clean`, it must exit with status 0. */
  async stop(clean = true): Promise<void> {
    const exit = await this.end('SIGTERM');
    if (clean) assert.equal(exit.code, 0, exit.stderr);
  }

  /** Sends `signal` to the running process and waits for its exit, keeping what it printed. */
  private async end(signal: NodeJS.Signals): Promise<Awaited<Proc['exited']>> {
    const proc = this.proc!;
    this.proc = undefined;
    proc.kill(signal);
    const exit = await proc.exited;
    this.procs.delete(proc);
    this.logs.push(exit.stdout);
    return exit;
  }

  /** Called once the process is started, before it listens (a subclass's set-up). */
  protected async spawned(): Promise<void> {}

  /** Called when a start failed (undoes spawned()). */
  protected failed(): void {}
}

/** A message the publisher sent. */
export interface Sent {
  readonly n: number;
  readonly qos: 1 | 2;
  readonly topic: string;
  readonly payload: string;
}

/** What a crash test's clients record: what was published and acknowledged, and what went wrong. */
export interface CrashLedger {
  readonly published: ReadonlyMap<number, Sent>;
  readonly acknowledged: ReadonlySet<number>;
  readonly violations: string[];
}

/** The ledger a publisher writes: what it published and what was acknowledged. */
export interface PublisherLedger {
  readonly published: Map<number, Sent>;
  readonly acknowledged: Set<number>;
  readonly violations: string[];
}

/**
 * The crash tests' publisher: numbered messages from `base` on (each publisher its own range),
 * QoS 1 and 2 at random on crash/0 to crash/3, at most `window` unacknowledged. A message
 * counts as acknowledged at PUBACK (QoS 1) or PUBREC (QoS 2).
 */
export class CrashPublisher {
  readonly peer: Peer;
  /** Packet id -> what is owed on it: the PUBLISH (until PUBACK/PUBREC) or the PUBREL (until PUBCOMP). */
  readonly inflight = new Map<number, { sent: Sent; state: 'publish' | 'pubrel' }>();
  next: number;
  publishing = true;
  /**
   * Published, and resent after a reconnect, only while this is true (e.g. every subscriber
   * connected: where brokers share sessions but route nothing between them, a message
   * published while a subscriber's session is elsewhere never reaches it).
   */
  gate: () => boolean = () => true;
  /** Reconnected: the unfinished exchanges are owed, before anything new. */
  private owed = false;

  constructor(
    target: Target,
    private readonly ledger: PublisherLedger,
    private readonly window: number,
    clientId = 'crash-pub',
    base = 1,
  ) {
    this.next = base;
    this.peer = new Peer(clientId, 5, target, (p) => this.onPacket(p), () => (this.owed = true));
  }

  /** Sends what is owed after a reconnect, then new messages while the window has room. */
  pump(): void {
    if (!this.peer.connected || !this.gate()) return;
    if (this.owed) this.resend();
    if (!this.publishing) return;
    for (let packetId = 1; packetId <= this.window && this.inflight.size < this.window; packetId++) {
      if (this.inflight.has(packetId)) continue;
      const n = this.next++;
      const qos: 1 | 2 = Math.random() < 0.5 ? 1 : 2;
      const sent: Sent = { n, qos, topic: `crash/${n % 4}`, payload: `message ${n} at QoS ${qos}` };
      this.ledger.published.set(n, sent);
      this.inflight.set(packetId, { sent, state: 'publish' });
      this.peer.send(this.publish(sent, packetId, false));
    }
  }

  /** After a reconnect: every unfinished exchange is taken up again, in order [MQTT-4.4.0-1]. */
  private resend(): void {
    this.owed = false;
    for (const [packetId, { sent, state }] of this.inflight) {
      if (state === 'pubrel') this.peer.send({ type: 'pubrel', packetId });
      else this.peer.send(this.publish(sent, packetId, true));
    }
  }

  private publish(sent: Sent, packetId: number, dup: boolean): Packet {
    return { type: 'publish', topic: sent.topic, payload: Buffer.from(sent.payload), qos: sent.qos, retain: false, dup, packetId };
  }

  private onPacket(p: Packet): void {
    const { acknowledged, violations } = this.ledger;
    const me = this.peer.clientId;
    if (p.type === 'puback' || p.type === 'pubrec') {
      const entry = this.inflight.get(p.packetId);
      if (entry === undefined || entry.state !== 'publish' || entry.sent.qos !== (p.type === 'puback' ? 1 : 2)) {
        violations.push(`${me}: unexpected ${p.type} for packet id ${p.packetId}`);
        return;
      }
      if ((p.reasonCode ?? 0) >= 0x80) {
        violations.push(`${me}: ${p.type} refused message ${entry.sent.n} with 0x${p.reasonCode!.toString(16)}`);
        return;
      }
      acknowledged.add(entry.sent.n);
      if (p.type === 'puback') this.inflight.delete(p.packetId);
      else {
        entry.state = 'pubrel';
        this.peer.send({ type: 'pubrel', packetId: p.packetId });
      }
    } else if (p.type === 'pubcomp') {
      // A PUBCOMP for an id already complete can come after a reconnect: ignored.
      if (this.inflight.get(p.packetId)?.state === 'pubrel') this.inflight.delete(p.packetId);
    } else if (p.type !== 'pingresp') {
      violations.push(`${me}: unexpected ${describe(p)}`);
    }
  }
}

/** A persistent subscriber to crash/# at `qos`: counts what it receives, per message number. */
export class Subscriber {
  readonly peer: Peer;
  readonly received = new Map<number, number>();
  /** How each copy of a message came (connection, packet id, DUP): a failure's report. */
  readonly deliveries = new Map<number, string[]>();
  /** QoS 2 packet ids acknowledged with PUBREC and not yet released: a resent PUBLISH with one is not new. */
  private readonly pendingQos2 = new Set<number>();
  subscribed = false;

  constructor(
    name: string,
    version: ProtocolVersion,
    readonly qos: QoS,
    broker: Target,
    private readonly ledger: CrashLedger,
  ) {
    this.peer = new Peer(name, version, broker, (p) => this.onPacket(p), (present) => this.onConnack(present));
  }

  private onConnack(sessionPresent: boolean): void {
    if (!this.subscribed) {
      this.peer.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'crash/#', qos: this.qos }] });
    } else if (!sessionPresent) {
      this.ledger.violations.push(`${this.peer.clientId}: the session was lost (CONNACK session present 0 after connect ${this.peer.connects})`);
    }
  }

  private onPacket(p: Packet): void {
    switch (p.type) {
      case 'suback':
        if (p.reasonCodes[0] !== this.qos) this.ledger.violations.push(`${this.peer.clientId}: SUBACK ${p.reasonCodes[0]}`);
        this.subscribed = true;
        return;
      case 'publish': {
        const m = /^message (\d+) at QoS ([12])$/.exec(p.payload.toString());
        const n = m === null ? NaN : Number(m[1]);
        const sent = this.ledger.published.get(n);
        if (sent === undefined || sent.topic !== p.topic || sent.payload !== p.payload.toString()) {
          this.ledger.violations.push(`${this.peer.clientId}: received a message never published: ${p.topic} "${p.payload.toString()}"`);
        } else if (p.qos !== Math.min(sent.qos, this.qos)) {
          this.ledger.violations.push(`${this.peer.clientId}: message ${n} came at QoS ${p.qos}`);
        }
        if (p.qos === 1) {
          this.count(n, p);
          this.peer.send({ type: 'puback', packetId: p.packetId! });
        } else if (p.qos === 2) {
          // Delivered to the application on the first PUBLISH with an id; a resend is not new.
          if (!this.pendingQos2.has(p.packetId!)) {
            this.pendingQos2.add(p.packetId!);
            this.count(n, p);
          }
          this.peer.send({ type: 'pubrec', packetId: p.packetId! });
        } else {
          this.ledger.violations.push(`${this.peer.clientId}: a QoS 0 delivery`);
        }
        return;
      }
      case 'pubrel':
        this.pendingQos2.delete(p.packetId);
        this.peer.send({ type: 'pubcomp', packetId: p.packetId });
        return;
      default:
        this.ledger.violations.push(`${this.peer.clientId}: unexpected ${describe(p)}`);
    }
  }

  private count(n: number, p: Packet & { type: 'publish' }): void {
    this.received.set(n, (this.received.get(n) ?? 0) + 1);
    (this.deliveries.get(n) ?? this.deliveries.set(n, []).get(n)!).push(`connect ${this.peer.connects} id ${p.packetId}${p.dup ? ' dup' : ''}`);
  }

  /** Every acknowledged message has arrived. */
  complete(): boolean {
    for (const n of this.ledger.acknowledged) if (!this.received.has(n)) return false;
    return true;
  }
}

/** A packet as a violation names it: a DISCONNECT with its reason code. */
function describe(p: Packet): string {
  return p.type === 'disconnect' ? `disconnect (reason 0x${(p.reasonCode ?? 0).toString(16)})` : p.type;
}

/** Waits until `done`, or until `progress` has not moved for 5 s. */
export async function settle(done: () => boolean, progress: () => number): Promise<void> {
  let last = progress();
  let since = Date.now();
  while (!done() && Date.now() - since < 5000) {
    await new Promise((r) => setTimeout(r, 20));
    const now = progress();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}
