// GET /metrics: the broker's counters and gauges in the Prometheus text exposition format
// (version 0.0.4). Counters are read from broker.stats at scrape time; the store commit
// latency histogram is filled from the `storeCommit` event and the event-loop delay from
// perf_hooks.monitorEventLoopDelay, so nothing is added to the message path here.

import type { BridgeStatus } from '../bridge/bridge.js';
import { writeBridgeMetrics } from '../bridge/metrics.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { FileAuthStats } from '../auth/index.js';
import { clusterMetrics } from '../cluster/ops.js';
import type { Broker } from '../broker/broker.js';
import { reasonCodeName } from '../codec/reason-codes.js';
import { guardFor } from '../transport/guard.js';
import { renderGatewayMetrics } from '../gateway/mqtt-sn/metrics.js';
import type { HttpConnectionStats } from './types.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Store commit latency buckets, seconds: from a batched in-memory commit to a slow disk. */
export const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [labels: Labels | undefined, value: number];

/** One text exposition under construction: each family's HELP and TYPE, then its samples. */
export class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram' | 'summary', help: string, samples: readonly Sample[], suffixes?: readonly string[]): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    samples.forEach(([labels, value], i) => this.lines.push(`${name}${suffixes?.[i] ?? ''}${formatLabels(labels)} ${formatValue(value)}`));
  }

  counter(name: string, help: string, value: number | readonly Sample[]): void {
    this.family(name, 'counter', help, typeof value === 'number' ? [[undefined, value]] : value);
  }

  gauge(name: string, help: string, value: number | readonly Sample[]): void {
    this.family(name, 'gauge', help, typeof value === 'number' ? [[undefined, value]] : value);
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** A cumulative histogram with fixed buckets (Prometheus `le` semantics). */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }

  write(out: Exposition, name: string, help: string): void {
    const samples: Sample[] = this.buckets.map((le, i) => [{ le: String(le) }, this.counts[i]!]);
    samples.push([{ le: '+Inf' }, this.count], [undefined, this.sum], [undefined, this.count]);
    const suffixes = [...this.buckets.map(() => '_bucket'), '_bucket', '_sum', '_count'];
    out.family(name, 'histogram', help, samples, suffixes);
  }
}

/** Deliveries held in sessions: queued (and the deepest queue), and in flight. One walk. */
export function sessionTotals(b: Broker): { queued: number; maxQueued: number; inflight: number } {
  let queued = 0;
  let maxQueued = 0;
  let inflight = 0;
  for (const session of b.sessions.values()) {
    queued += session.queued;
    if (session.queued > maxQueued) maxQueued = session.queued;
    inflight += session.inflight.size;
  }
  return { queued, maxQueued, inflight };
}

export class Metrics {
  readonly commits = new Histogram(COMMIT_BUCKETS);
  commitRecords = 0;
  // The type by inference: @types/node 20 calls it IntervalHistogram, 22+ ELDHistogram.
  private readonly loop = monitorEventLoopDelay({ resolution: 20 });
  private readonly onCommit = (ms: number, records: number): void => {
    this.commits.observe(ms / 1000);
    this.commitRecords += records;
  };

  /** The last memory figures read: what is shown while /proc cannot be read (no descriptors left). */
  private lastMemory: NodeJS.MemoryUsage | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly version: string,
    /** The ops HTTP server's connections, when it has one. */
    private readonly http?: Readonly<HttpConnectionStats>,
    private readonly authStats?: () => FileAuthStats,
    private readonly bridges?: () => readonly BridgeStatus[],
  ) {
    broker.on('storeCommit', this.onCommit);
    this.loop.enable();
  }

  private memory(): NodeJS.MemoryUsage {
    try {
      this.lastMemory = process.memoryUsage();
    } catch {
      // EMFILE reading /proc/self: the heap figures come from V8 itself, rss stays as last read.
      const heap = getHeapStatistics();
      this.lastMemory = { rss: 0, external: 0, arrayBuffers: 0, ...this.lastMemory, heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size };
    }
    return this.lastMemory;
  }

  stop(): void {
    this.broker.off('storeCommit', this.onCommit);
    this.loop.disable();
  }

  render(): string {
    const b = this.broker;
    const s = b.stats;
    const out = new Exposition();
    out.gauge('starling_info', 'Starling version, always 1.', [[{ version: this.version }, 1]]);
    out.gauge('starling_ready', '1 when the store is open and every listener listens.', b.ready ? 1 : 0);
    out.gauge('starling_connections', 'Open network connections, connected or not yet.', b.connections.size);
    out.gauge('starling_clients_connected', 'Clients connected (CONNACK sent).', b.clients.size);
    out.gauge('starling_sessions', 'Sessions held, connected or not.', b.sessions.size);
    out.gauge('starling_subscriptions', 'Subscriptions in the index.', b.views.subscriptionCount);
    out.gauge('starling_subscription_bytes', 'Bytes of all topic filters subscribed to, as limits.maxSubscriptionBytes counts them.', b.filterBytes.total);
    out.gauge('starling_retained_messages', 'Retained messages held.', b.retained.size);
    out.gauge('starling_retained_bytes', 'Bytes of the retained messages held, as limits.maxRetainedBytes counts them: payloads, topics and overhead.', b.retained.bytes);
    out.counter('starling_connections_accepted_total', 'Network connections accepted.', s.connectionsAccepted);
    const t = guardFor(b);
    out.gauge('starling_open_sockets', 'Client sockets open over all listeners, from accept (before any handshake).', t.open);
    out.gauge('starling_max_sockets', 'limits.maxSockets in force (set, or derived from the open-file limit); 0 for none.', t.maxSockets);
    out.counter('starling_transport_refused_total', 'Connections closed before reaching the broker, by reason: sockets (limits.maxSockets), accept_error (EMFILE and the like), origin and subprotocol (WebSocket upgrades), handshake_timeout (a TLS handshake past handshakeTimeout).', entries(t.refused, 'reason'));
    out.counter('starling_tls_handshakes_total', 'TLS handshakes completed on tls and wss listeners, by kind: full, or resumed from a session ticket (tls.ticketKeyFile keeps tickets valid across restarts).', entries(t.tlsHandshakes, 'kind'));
    if (this.http !== undefined) {
      const h = this.http;
      out.gauge('starling_http_connections', 'Connections open to the ops HTTP server.', h.open);
      out.counter(
        'starling_http_connections_closed_total',
        'Ops HTTP connections closed by the server, by reason: idle (http.idleTimeout), evicted (the oldest idle one, for a new one beyond http.maxConnections), refused (all busy), accept_error.',
        entries(h.closed, 'reason'),
      );
    }
    out.counter('starling_messages_received_total', 'PUBLISH packets received from clients, by QoS.', byQos(s.publishReceived));
    out.counter('starling_messages_sent_total', 'PUBLISH packets sent to clients, by QoS.', byQos(s.publishSent));
    out.counter('starling_messages_routed_total', 'Messages routed: client publishes, wills and program publishes.', s.messagesReceived);
    out.counter('starling_packets_received_total', 'MQTT packets of every type received.', s.packetsReceived);
    out.counter('starling_packets_sent_total', 'MQTT packets of every type sent.', s.packetsSent);
    out.counter('starling_bytes_received_total', 'Bytes read from client streams.', s.bytesReceived);
    out.counter('starling_bytes_sent_total', 'Bytes written to client streams.', s.bytesSent);
    clusterMetrics(out, b);
    out.counter('starling_messages_dropped_total', 'Messages not delivered to a session, by reason.', entries(s.dropped, 'reason'));
    out.counter('starling_limit_hits_total', 'Times a limit held something back, by limit.', entries(s.limited, 'limit'));
    out.counter('starling_auth_failures_total', 'Failed logins (refused CONNECTs and enhanced authentications).', s.limited.auth_failure);
    renderGatewayMetrics(out, b);
    out.counter(
      'starling_protocol_errors_total',
      'Connections closed for breaking the protocol, by MQTT 5 reason code.',
      Object.entries(s.protocolErrors).map(([code, n]): Sample => {
        const c = Number(code);
        return [{ code: `0x${c.toString(16).padStart(2, '0')}`, reason: reasonCodeName(c) }, n];
      }),
    );
    if (this.authStats !== undefined) {
      const a = this.authStats();
      const l = a.logins;
      out.counter('starling_auth_password_checks_total', 'Password logins checked: by a hash, or (unknown user, no password) by waiting as long as one takes.', [
        [{ kind: 'hashed' }, l.hashed],
        [{ kind: 'imitated' }, l.imitated],
      ]);
      out.counter('starling_auth_logins_refused_total', 'Password logins refused before any hashing: too many in progress from the source, or waiting in all.', [
        [{ reason: 'source' }, l.refusedSource],
        [{ reason: 'busy' }, l.refusedBusy],
      ]);
      out.counter('starling_auth_failures_forgotten_total', 'Failure counts of addresses (and address and user name pairs) forgotten to stay within auth.failureMemory.', l.forgotten);
      out.gauge('starling_auth_pending_logins', 'Password logins admitted and not yet checked.', a.pendingLogins);
      out.gauge('starling_auth_hashing', 'Password hashes being computed.', a.hashing);
      out.counter('starling_acl_denied_total', 'ACL refusals: publishes (wills included), subscriptions, and deliveries not made.', entries(a.aclDenied, 'access'));
    }
    if (this.bridges !== undefined) writeBridgeMetrics(out, this.bridges());
    const { queued, maxQueued, inflight } = sessionTotals(b);
    out.gauge('starling_queued_messages', 'Messages queued in sessions, waiting for a client or for its in-flight window.', queued);
    out.gauge('starling_queued_messages_max', 'The deepest session queue.', maxQueued);
    out.gauge('starling_inflight_messages', 'Outbound QoS 1 and 2 messages sent and not yet acknowledged.', inflight);
    this.commits.write(out, 'starling_store_commit_duration_seconds', 'Durable store commit latency.');
    out.counter('starling_store_commit_records_total', 'Records written by durable store commits.', this.commitRecords);
    const loop = this.loop;
    const finite = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);
    out.family(
      'starling_event_loop_delay_seconds',
      'summary',
      'Event-loop delay since start (perf_hooks.monitorEventLoopDelay).',
      [[{ quantile: '0.5' }, finite(loop.percentile(50))], [{ quantile: '0.9' }, finite(loop.percentile(90))], [{ quantile: '0.99' }, finite(loop.percentile(99))], [undefined, finite(loop.mean) * loop.count], [undefined, loop.count]],
      ['', '', '', '_sum', '_count'],
    );
    out.gauge('starling_event_loop_delay_max_seconds', 'Longest event-loop delay since start.', finite(loop.max));
    const mem = this.memory();
    out.gauge('starling_process_resident_memory_bytes', 'Resident set size.', mem.rss);
    out.gauge('starling_process_heap_used_bytes', 'V8 heap in use.', mem.heapUsed);
    out.gauge('starling_process_heap_total_bytes', 'V8 heap allocated.', mem.heapTotal);
    out.gauge('starling_process_external_memory_bytes', 'Memory of Buffers and other objects outside the V8 heap.', mem.external);
    out.gauge('starling_process_uptime_seconds', 'Seconds since the process started.', process.uptime());
    return out.toString();
  }
}

function byQos(counts: readonly number[]): Sample[] {
  return counts.map((n, qos) => [{ qos: String(qos) }, n]);
}

function entries(record: Readonly<Record<string, number>>, label: string): Sample[] {
  return Object.entries(record).map(([k, n]) => [{ [label]: k }, n]);
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}
