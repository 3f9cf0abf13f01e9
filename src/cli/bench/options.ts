// `starling bench` options: one flat set shared by every scenario, each scenario filling in
// its own defaults for what the user leaves out.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ProtocolVersion, QoS } from '../../codec/index.js';

export const SCENARIOS = ['fan-in', 'fan-out', 'qos1', 'latency', 'connections', 'topics'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Everything one scenario run needs; `resolveOptions` fills the scenario's defaults. */
export interface ScenarioOptions {
  scenario: ScenarioName;
  host: string;
  port: number;
  /**
   * Where the subscribers connect, when not to `port`: another node of a cluster, so that
   * every message crosses from the publishers' node to theirs (bench/cluster.ts).
   */
  subscriberPort?: number;
  protocolVersion: ProtocolVersion;
  publishers: number;
  subscribers: number;
  qos: QoS;
  /** Payload bytes; 16 or more carries a publisher index, a sequence number and a send time. */
  payloadSize: number;
  /** Seconds of measurement, after the warm-up. */
  duration: number;
  warmup: number;
  /** Unacknowledged QoS 1/2 publishes per publisher. */
  inflight: number;
  /** Messages per second over all publishers, for `latency` (0 elsewhere: as fast as the broker reads). */
  rate: number;
  connections: number;
  /** Connection handshakes under way at once, for `connections`. */
  connectConcurrency: number;
  /** Distinct subscriptions, for `topics`. */
  topics: number;
  /** Worker threads the clients are spread over. */
  workers: number;
  /** Process id of a broker on this machine, to sample its CPU and memory from /proc. */
  pid: number | undefined;
  /** Loss of QoS 0 messages is reported but allowed; set to fail on any loss. */
  strict: boolean;
  /** Longest wait for connections and subscriptions, and for the in-flight tail after the run, seconds. */
  timeout: number;
  /**
   * MQTT over TLS. Every connection makes a full handshake (no session resumption): what a
   * broker meets when its clients all come back at once. Without `ca` the server's
   * certificate is not verified.
   */
  /** `resume`: the connections scenario measures reconnections that offer each client's earlier TLS session. */
  tls: { ca?: string; resume?: boolean } | undefined;
}

export interface BenchCommand {
  kind: 'run';
  scenarios: ScenarioOptions[];
  json: boolean;
  progress: boolean | undefined;
  sink: boolean;
}

export interface SinkCommand {
  kind: 'sink';
  host: string;
  port: number;
}

export type Command = BenchCommand | SinkCommand | { kind: 'help' };

export class UsageError extends Error {}

export const HELP = `starling bench: a load generator for any MQTT broker

Usage: starling bench SCENARIO... [options]
       starling bench sink [--host HOST] [--port PORT]
       starling bench mqtt-sn [options]   (the MQTT-SN gateway beside MQTT; --help for its options)

Scenarios (or 'all' for every one, in this order):
  fan-in        N publishers, one subscriber on a wildcard filter (default 4 -> 1, QoS 0)
  fan-out       one publisher, N subscribers on its topic (default 1 -> 10, QoS 0)
  qos1          QoS 1 end to end with an in-flight window; any loss fails the run
  latency       one publisher at a fixed rate; p50, p99 and max of publish-to-delivery time
  connections   N idle connections, held for --duration: setup rate, and with --pid the
                broker's memory per connection at the end of the hold and 1 s into it
  topics        100,000 distinct subscriptions over 20 clients, then publishes to random ones

Options:
  -H, --host HOST            broker address (default 127.0.0.1)
  -p, --port PORT            broker port (default 1883; 8883 with --tls)
  -V, --protocol 3|4|5       MQTT 3.1, 3.1.1 or 5.0 (default 4)
  -P, --publishers N         publishing clients
  -S, --subscribers N        subscribing clients
  -q, --qos 0|1|2            QoS of publishes and subscriptions (qos1: 1)
  -s, --payload BYTES        payload size (default 64; 16 or more carries sequence and time)
  -d, --duration SECONDS     measured time per scenario (default 5)
  -w, --warmup SECONDS       unmeasured time before it (default 1)
  -i, --inflight N           unacknowledged QoS 1/2 publishes per publisher (default 64)
  -r, --rate N               messages per second for latency (default 1000)
  -n, --connections N        idle connections (default 1000)
      --connect-concurrency N  handshakes under way at once (default 128)
  -t, --topics N             distinct subscriptions for topics (default 100000)
      --workers N            worker threads for the clients (default 2; 1 for latency)
      --pid PID              sample this local broker's CPU and memory from /proc
      --strict               fail on QoS 0 loss too
      --timeout SECONDS      longest wait for setup and for the tail after a run (default 30)
      --tls                  connect over TLS (default port 8883), a full handshake for
                             every connection; the certificate is not verified unless --ca
      --ca FILE              verify the broker's certificate against this PEM CA (implies --tls)
      --tls-resume           connections: every client connects once first (not measured) and
                             keeps its TLS session; the storm measured is the reconnection
                             of all of them offering it, as devices do after an outage
                             (implies --tls; the share the broker resumed is reported)
      --sink                 run against a built-in trivial broker (a relay that matches
                             topics and forwards) in a child process, to show the
                             generator's own ceiling
      --json                 print the results as JSON instead of a table
      --progress / --no-progress  the live progress line on stderr (default: when a TTY)
  -h, --help                 show this help

Exit status: 0 when every scenario ran without errors and without loss where loss is not
allowed (QoS 1 and 2, or any QoS with --strict); 1 otherwise; 2 for a usage error.`;

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function num(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** What the user chose; undefined fields take the scenario's default. */
export type Overrides = Partial<Omit<ScenarioOptions, 'scenario'>>;

/** A scenario's options: its own defaults under the user's choices. */
export function resolveOptions(scenario: ScenarioName, o: Overrides = {}): ScenarioOptions {
  const qos = o.qos ?? (scenario === 'qos1' ? 1 : 0);
  const base: ScenarioOptions = {
    scenario,
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 1883,
    ...(o.subscriberPort !== undefined && { subscriberPort: o.subscriberPort }),
    protocolVersion: o.protocolVersion ?? 4,
    publishers: o.publishers ?? (scenario === 'fan-out' || scenario === 'latency' ? 1 : scenario === 'connections' ? 0 : 4),
    subscribers: o.subscribers ?? (scenario === 'fan-out' ? 10 : scenario === 'topics' ? 20 : scenario === 'connections' ? 0 : 1),
    qos,
    payloadSize: o.payloadSize ?? 64,
    duration: o.duration ?? 5,
    warmup: o.warmup ?? 1,
    inflight: o.inflight ?? 64,
    rate: scenario === 'latency' ? (o.rate ?? 1000) : 0,
    connections: o.connections ?? 1000,
    connectConcurrency: o.connectConcurrency ?? 128,
    topics: o.topics ?? 100_000,
    // Latency has two clients: a second worker thread would only compete with them and the
    // broker for the cores, and its wake-ups showed in the tail (docs/benchmarks.md).
    workers: o.workers ?? (scenario === 'latency' ? 1 : 2),
    pid: o.pid,
    strict: o.strict ?? false,
    timeout: o.timeout ?? 30,
    tls: o.tls,
  };
  if (scenario === 'topics' && base.subscribers > base.topics) base.subscribers = base.topics;
  return base;
}

export function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      allowNegative: true,
      options: {
        host: { type: 'string', short: 'H' },
        port: { type: 'string', short: 'p' },
        protocol: { type: 'string', short: 'V' },
        publishers: { type: 'string', short: 'P' },
        subscribers: { type: 'string', short: 'S' },
        qos: { type: 'string', short: 'q' },
        payload: { type: 'string', short: 's' },
        duration: { type: 'string', short: 'd' },
        warmup: { type: 'string', short: 'w' },
        inflight: { type: 'string', short: 'i' },
        rate: { type: 'string', short: 'r' },
        connections: { type: 'string', short: 'n' },
        'connect-concurrency': { type: 'string' },
        topics: { type: 'string', short: 't' },
        workers: { type: 'string' },
        pid: { type: 'string' },
        strict: { type: 'boolean' },
        timeout: { type: 'string' },
        tls: { type: 'boolean' },
        ca: { type: 'string' },
        'tls-resume': { type: 'boolean' },
        sink: { type: 'boolean' },
        json: { type: 'boolean' },
        progress: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { kind: 'help' };
  if (positionals.length === 0) throw new UsageError('name a scenario, or all');

  const host = v.host ?? '127.0.0.1';
  if (positionals[0] === 'sink') {
    if (positionals.length > 1) throw new UsageError('sink takes no other scenario');
    return { kind: 'sink', host, port: int('port', v.port, 0, 65535) ?? 1883 };
  }

  const names: ScenarioName[] = [];
  for (const p of positionals) {
    if (p === 'all') names.push(...SCENARIOS);
    else if ((SCENARIOS as readonly string[]).includes(p)) names.push(p as ScenarioName);
    else throw new UsageError(`unknown scenario ${JSON.stringify(p)}; one of ${SCENARIOS.join(', ')}, all, sink`);
  }
  const protocol = int('protocol', v.protocol, 3, 5) as ProtocolVersion | undefined;
  const payloadSize = int('payload', v.payload, 0, 1_000_000);
  const rate = int('rate', v.rate, 1, 10_000_000);
  let tls: ScenarioOptions['tls'];
  if (v.ca !== undefined) {
    try {
      tls = { ca: readFileSync(v.ca, 'utf8') };
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${v.ca}: ${(err as Error).message}`);
    }
  } else if (v.tls || v['tls-resume']) tls = {};
  if (v['tls-resume'] && tls) tls.resume = true;
  const overrides: Overrides = {
    host,
    port: int('port', v.port, 1, 65535) ?? (tls ? 8883 : undefined),
    protocolVersion: protocol,
    publishers: int('publishers', v.publishers, 1, 10_000),
    subscribers: int('subscribers', v.subscribers, 1, 10_000),
    qos: int('qos', v.qos, 0, 2) as QoS | undefined,
    payloadSize,
    duration: num('duration', v.duration, 0.1, 3600),
    warmup: num('warmup', v.warmup, 0, 600),
    inflight: int('inflight', v.inflight, 1, 65535),
    rate,
    connections: int('connections', v.connections, 1, 1_000_000),
    connectConcurrency: int('connect-concurrency', v['connect-concurrency'], 1, 100_000),
    topics: int('topics', v.topics, 1, 10_000_000),
    workers: int('workers', v.workers, 1, 64),
    pid: int('pid', v.pid, 1, 2 ** 22),
    strict: v.strict,
    timeout: num('timeout', v.timeout, 1, 3600),
    tls,
  };
  for (const k of Object.keys(overrides) as (keyof Overrides)[]) if (overrides[k] === undefined) delete overrides[k];
  if (v.sink && overrides.pid !== undefined) throw new UsageError('--sink and --pid together: the sink is its own process');
  if (v.sink && tls) throw new UsageError('--sink and --tls together: the sink has no TLS listener');
  return {
    kind: 'run',
    scenarios: names.map((n) => resolveOptions(n, overrides)),
    json: v.json ?? false,
    progress: v.progress,
    sink: v.sink ?? false,
  };
}
