// Overview: live charts of the sample stream (/dashboard/stream, one sample a second) and
// the figures an operator looks at first.
import { useEffect, useState } from 'preact/hooks';
import { api, fmt } from '../api';
import { Chart } from '../chart';

export interface Sample {
  t: number;
  uptime: number;
  clients: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: Record<string, number>;
  droppedRate: number;
  limited: Record<string, number>;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
  loop: { p99: number; max: number };
  commits: { count: number; mean: number; max: number };
  topics: { nodes: number; untracked: number };
  /** Absent while the broker has no bridges. */
  bridges?: BridgeSample[];
  /** Absent on a standalone broker. */
  cluster?: ClusterSample;
}

export interface ClusterSample {
  node: string;
  state: string;
  redis: 'connected' | 'degraded';
  rttMs: number;
  nodes: Array<{ name: string; alive: boolean; self: boolean; routes: number }>;
  forwardedMessages: number;
  forwardedBytes: number;
  receivedMessages: number;
  totals: { nodes: number; routes: number; forwardedMessages: number; forwardedBytes: number; receivedMessages: number };
}

export interface BridgeSample {
  name: string;
  up: boolean;
  state: string;
  address: string | null;
  lastError: string | null;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  messagesInRate: number;
  messagesOutRate: number;
  queued: number;
  inflight: number;
  reconnects: number;
}

interface Info {
  version: string;
  startedAt: string;
  node: string;
  listeners: Array<{ name: string; type: string; host: string; port: number; path?: string; websocketPath?: string }>;
}

/** Samples kept for the charts: five minutes. */
const KEEP = 300;

type Columns = number[][];

function push(cols: Columns, values: number[]): Columns {
  const next = cols.map((c, i) => {
    const n = c.length >= KEEP ? c.slice(c.length - KEEP + 1) : c.slice();
    n.push(values[i]!);
    return n;
  });
  return next;
}

export function Overview() {
  const [sample, setSample] = useState<Sample | undefined>();
  const [info, setInfo] = useState<Info | undefined>();
  const [live, setLive] = useState(false);
  const [msgs, setMsgs] = useState<Columns>([[], [], []]);
  const [bytes, setBytes] = useState<Columns>([[], [], []]);
  const [conns, setConns] = useState<Columns>([[], [], []]);

  useEffect(() => {
    void api<Info>('/dashboard/info').then(setInfo, () => {});
    const es = new EventSource('/dashboard/stream');
    es.onopen = () => setLive(true);
    es.onerror = () => setLive(false);
    es.addEventListener('sample', (e) => {
      const s = JSON.parse((e as MessageEvent<string>).data) as Sample;
      const t = s.t / 1000;
      setSample(s);
      setMsgs((c) => push(c, [t, s.messagesIn, s.messagesOut]));
      setBytes((c) => push(c, [t, s.bytesIn, s.bytesOut]));
      setConns((c) => push(c, [t, s.clients, s.sessions]));
    });
    return () => es.close();
  }, []);

  const s = sample;
  const dropped = s === undefined ? [] : Object.entries(s.dropped);
  const droppedTotal = dropped.reduce((a, [, n]) => a + n, 0);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Overview</h1>
        <span class={`pill ${live ? 'ok' : 'warn'}`} data-testid="live">
          {live ? 'live' : 'connecting…'}
        </span>
      </div>
      <div class="tiles">
        <Tile label="Clients connected" value={s ? fmt.int(s.clients) : '–'} testId="tile-clients" />
        <Tile label="Sessions" value={s ? fmt.int(s.sessions) : '–'} />
        <Tile label="Subscriptions" value={s ? fmt.int(s.subscriptions) : '–'} />
        <Tile label="Retained" value={s ? fmt.int(s.retained) : '–'} />
        <Tile label="Messages in / s" value={s ? fmt.rate(s.messagesIn) : '–'} testId="tile-msgs-in" />
        <Tile label="Messages out / s" value={s ? fmt.rate(s.messagesOut) : '–'} />
        <Tile label="Uptime" value={s ? fmt.duration(s.uptime) : '–'} />
        <Tile label="Memory (RSS)" value={s ? fmt.bytes(s.memory.rss) : '–'} sub={s ? `heap ${fmt.bytes(s.memory.heapUsed)}` : ''} />
      </div>
      {/* Links to other brokers, one a full-width card each, under the tiles; each card only where the broker has them. */}
      <div class="links">
        {s?.cluster !== undefined ? <Cluster cluster={s.cluster} /> : null}
        {s?.bridges !== undefined && s.bridges.length > 0 ? <Bridges bridges={s.bridges} /> : null}
      </div>
      <div class="grid-2">
        <Chart title="Messages per second" testId="chart-messages" series={[{ label: 'in', color: '#0284c7' }, { label: 'out', color: '#16a34a' }]} data={msgs} format={fmt.rate} />
        <Chart title="Bytes per second" testId="chart-bytes" series={[{ label: 'in', color: '#7c3aed' }, { label: 'out', color: '#ea580c' }]} data={bytes} format={(n) => fmt.bytes(n)} />
        <Chart title="Connections" testId="chart-connections" series={[{ label: 'clients', color: '#0891b2' }, { label: 'sessions', color: '#64748b' }]} data={conns} format={fmt.int} />
        <div class="card">
          <div class="card-title">Health</div>
          <table class="kv">
            <tbody>
              <tr>
                <th>Event-loop lag (last second)</th>
                <td>{s ? `p99 ${fmt.ms(s.loop.p99)} · max ${fmt.ms(s.loop.max)}` : '–'}</td>
              </tr>
              <tr>
                <th>Store commits (last second)</th>
                <td>{s ? (s.commits.count === 0 ? 'none' : `${s.commits.count} · mean ${fmt.ms(s.commits.mean)} · max ${fmt.ms(s.commits.max)}`) : '–'}</td>
              </tr>
              <tr>
                <th>Heap</th>
                <td>{s ? `${fmt.bytes(s.memory.heapUsed)} of ${fmt.bytes(s.memory.heapTotal)} · external ${fmt.bytes(s.memory.external)}` : '–'}</td>
              </tr>
              <tr>
                <th>Topic tree</th>
                <td>{s ? `${fmt.int(s.topics.nodes)} nodes${s.topics.untracked > 0 ? ` · ${fmt.int(s.topics.untracked)} messages untracked` : ''}` : '–'}</td>
              </tr>
              <tr>
                <th>Version</th>
                <td>{info ? `Starling ${info.version} · Node ${info.node}` : '–'}</td>
              </tr>
            </tbody>
          </table>
        </div>
      </div>
      <div class="grid-2">
        <div class="card">
          <div class="card-title">
            Dropped messages <span class="muted">{s ? `${fmt.int(droppedTotal)} total · ${fmt.rate(s.droppedRate)}/s now` : ''}</span>
          </div>
          <table class="table compact">
            <thead>
              <tr>
                <th>Reason</th>
                <th class="num">Since start</th>
              </tr>
            </thead>
            <tbody>
              {dropped.map(([reason, n]) => (
                <tr key={reason}>
                  <td>{reason.replace(/_/g, ' ')}</td>
                  <td class={`num ${n > 0 ? 'bad' : ''}`}>{fmt.int(n)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="card">
          <div class="card-title">Listeners</div>
          <table class="table compact" data-testid="listeners">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Address</th>
              </tr>
            </thead>
            <tbody>
              {info?.listeners.map((l) => (
                <tr key={l.name}>
                  <td>{l.name}</td>
                  <td>
                    <span class="tag">{l.type}</span>
                  </td>
                  <td class="mono">{l.path ?? `${l.host}:${l.port}${l.websocketPath ?? ''}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  );
}

function Cluster(props: { cluster: ClusterSample }) {
  const c = props.cluster;
  const alive = c.nodes.filter((n) => n.alive).length;
  const ok = c.redis === 'connected';
  return (
    <div class="card" data-testid="cluster">
      <div class="card-title">
        Cluster nodes <span class="muted">{`${alive} of ${c.nodes.length} alive · this node ${c.node}`}</span>
        <span class={`pill ${ok ? 'ok' : 'warn'}`} data-testid="cluster-redis" title={`cluster state: ${c.state}`}>
          {ok ? `Redis connected · ${fmt.ms(c.rttMs)}` : 'Redis unavailable · degraded'}
        </span>
      </div>
      <div class="split">
        <table class="table compact grow">
          <thead>
            <tr>
              <th>Node</th>
              <th>State</th>
              <th class="num">Routes</th>
            </tr>
          </thead>
          <tbody>
            {c.nodes.map((n) => (
              <tr key={n.name} data-testid={`cluster-node-${n.name}`}>
                <td>
                  {n.name}
                  {n.self ? (
                    <>
                      {' '}
                      <span class="tag">this node</span>
                    </>
                  ) : null}
                </td>
                <td>
                  <span class={`pill ${n.alive ? 'ok' : 'bad'}`} data-testid="cluster-node-state">
                    {n.alive ? 'alive' : 'down'}
                  </span>
                </td>
                <td class="num">{fmt.int(n.routes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table class="kv grow" data-testid="cluster-totals">
          <tbody>
            <tr>
              <th>Forwarded messages (this node · cluster)</th>
              <td>{`${fmt.int(c.forwardedMessages)} · ${fmt.int(c.totals.forwardedMessages)}`}</td>
            </tr>
            <tr>
              <th>Forwarded bytes (this node · cluster)</th>
              <td>{`${fmt.bytes(c.forwardedBytes)} · ${fmt.bytes(c.totals.forwardedBytes)}`}</td>
            </tr>
            <tr>
              <th>Received from other nodes</th>
              <td>{fmt.int(c.receivedMessages)}</td>
            </tr>
            <tr>
              <th>Routes in the cluster</th>
              <td>{fmt.int(c.totals.routes)}</td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Bridges(props: { bridges: BridgeSample[] }) {
  const up = props.bridges.filter((b) => b.up).length;
  return (
    <div class="card" data-testid="bridges">
      <div class="card-title">
        Bridges <span class="muted">{`${up} of ${props.bridges.length} up`}</span>
      </div>
      <table class="table compact">
        <thead>
          <tr>
            <th>Name</th>
            <th>State</th>
            <th>Remote</th>
            <th class="num">Messages in</th>
            <th class="num">Messages out</th>
            <th class="num">Bytes in</th>
            <th class="num">Bytes out</th>
            <th class="num">Queued</th>
            <th class="num">Reconnects</th>
          </tr>
        </thead>
        <tbody>
          {props.bridges.map((b) => (
            <tr key={b.name} data-testid={`bridge-${b.name}`}>
              <td>{b.name}</td>
              <td>
                <span class={`pill ${b.up ? 'ok' : 'bad'}`} data-testid="bridge-state" title={b.lastError ?? b.state}>
                  {b.up ? 'up' : 'down'}
                </span>
                {b.up ? null : <span class="muted small"> {b.state}</span>}
              </td>
              <td class="mono" title={b.lastError ?? ''}>
                {b.address ?? '–'}
              </td>
              <td class="num" title={`${fmt.rate(b.messagesInRate)}/s now`}>{fmt.int(b.messagesIn)}</td>
              <td class="num" title={`${fmt.rate(b.messagesOutRate)}/s now`}>{fmt.int(b.messagesOut)}</td>
              <td class="num">{fmt.bytes(b.bytesIn)}</td>
              <td class="num">{fmt.bytes(b.bytesOut)}</td>
              <td class="num">{b.inflight > 0 ? `${fmt.int(b.queued)} + ${fmt.int(b.inflight)} in flight` : fmt.int(b.queued)}</td>
              <td class="num">{fmt.int(b.reconnects)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Tile(props: { label: string; value: string; sub?: string; testId?: string }) {
  return (
    <div class="tile" data-testid={props.testId}>
      <div class="tile-label">{props.label}</div>
      <div class="tile-value">{props.value}</div>
      {props.sub ? <div class="tile-sub">{props.sub}</div> : null}
    </div>
  );
}
