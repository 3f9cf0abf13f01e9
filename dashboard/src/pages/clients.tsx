// Clients: the server searches, sorts and pages (/dashboard/clients), so 100,000 clients
// cost the page one screenful of rows. A row opens the client's detail (/dashboard/client,
// the admin API's view with the protocol's label). On a cluster member, a client id not here
// is looked up in the cluster (the admin API's cluster/clients/{id}: the ownership record).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, fmt } from '../api';

/** Where a client id is in the cluster (GET /api/v1/cluster/clients/{id}). */
interface ClusterClient {
  clientId: string;
  node: string | null;
  connectedHere: boolean;
}

interface ClientRow {
  id: string;
  connected: boolean;
  address?: string;
  listener?: string;
  username?: string | null;
  protocolVersion?: number;
  /** "MQTT 5.0", "MQTT 3.1.1", "MQTT-SN 1.2" (the dashboard's endpoints add it). */
  protocol?: string;
  keepAlive?: number;
  connectedAt?: string;
  lastSeen?: string;
  queued?: number;
  inflight?: number;
  subscriptionCount?: number;
  sessionExpiryInterval?: number;
  subscriptions?: Array<{ filter: string; qos: number; noLocal: boolean; retainAsPublished: boolean; retainHandling: number; subscriptionId?: number }>;
  will?: { topic: string; qos: number; retain: boolean; payloadBytes: number; delayInterval: number } | null;
}

const PAGE = 50;
const COLUMNS: Array<[key: string, label: string, num?: boolean]> = [
  ['id', 'Client id'],
  ['address', 'Address'],
  ['username', 'User'],
  ['protocol', 'Protocol'],
  ['keepAlive', 'Keep alive', true],
  ['connectedAt', 'Connected'],
  ['subscriptionCount', 'Subs', true],
  ['inflight', 'In flight', true],
  ['queued', 'Queued', true],
];

export function protocolName(v: number | undefined): string {
  return v === 5 ? '5.0' : v === 4 ? '3.1.1' : v === 3 ? '3.1' : '–';
}

export function Clients() {
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState('id');
  const [desc, setDesc] = useState(false);
  const [offset, setOffset] = useState(0);
  const [data, setData] = useState<{ total: number; matched: number; clients: ClientRow[] } | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  const [clusterNode, setClusterNode] = useState<string | null>(null);
  const seq = useRef(0);

  useEffect(() => {
    void api<{ clusterNode?: string | null }>('/dashboard/info').then((i) => setClusterNode(i.clusterNode ?? null), () => {});
  }, []);

  // Typing waits for a pause before asking the server.
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(q);
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [q]);

  useEffect(() => {
    const n = ++seq.current;
    const params = new URLSearchParams({ q: query, sort, dir: desc ? 'desc' : 'asc', offset: String(offset), limit: String(PAGE) });
    api<{ total: number; matched: number; clients: ClientRow[] }>(`/dashboard/clients?${params}`).then(
      (d) => {
        if (n === seq.current) {
          setData(d);
          setError('');
        }
      },
      (err: Error) => setError(err.message),
    );
  }, [query, sort, desc, offset, tick]);

  const by = (key: string): void => {
    if (key === sort) setDesc(!desc);
    else {
      setSort(key);
      setDesc(false);
    }
    setOffset(0);
  };
  const matched = data?.matched ?? 0;
  const pages = Math.max(1, Math.ceil(matched / PAGE));
  const page = Math.floor(offset / PAGE) + 1;
  return (
    <div class="page">
      <div class="page-head">
        <h1>Clients</h1>
        <span class="muted" data-testid="client-count">
          {data ? `${fmt.int(data.matched)} of ${fmt.int(data.total)} connected` : ''}
        </span>
      </div>
      <div class="split">
        <div class="card grow">
          <div class="toolbar">
            <input class="search" type="search" placeholder="Search client id, address or user…" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} data-testid="client-search" />
            <button class="btn" onClick={() => setTick(tick + 1)}>
              Refresh
            </button>
          </div>
          {error ? <div class="alert">{error}</div> : null}
          <div class="table-wrap">
            <table class="table hover" data-testid="client-table">
              <thead>
                <tr>
                  {COLUMNS.map(([key, label, num]) => (
                    <th key={key} class={`sortable ${num ? 'num' : ''}`} onClick={() => by(key)}>
                      {label}
                      {sort === key ? (desc ? ' ▾' : ' ▴') : ''}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data?.clients.map((c) => (
                  <tr key={c.id} class={selected === c.id ? 'selected' : ''} onClick={() => setSelected(c.id)} data-client={c.id}>
                    <td class="mono">{c.id}</td>
                    <td class="mono">{c.address}</td>
                    <td>{c.username ?? <span class="muted">–</span>}</td>
                    <td data-testid="client-protocol">{c.protocol ?? `MQTT ${protocolName(c.protocolVersion)}`}</td>
                    <td class="num">{c.keepAlive} s</td>
                    <td>{fmt.ago(c.connectedAt)}</td>
                    <td class="num">{c.subscriptionCount ?? 0}</td>
                    <td class="num">{c.inflight ?? 0}</td>
                    <td class="num">{c.queued ?? 0}</td>
                  </tr>
                ))}
                {data && data.clients.length === 0 ? (
                  <tr>
                    <td colSpan={COLUMNS.length} class="empty">
                      No client matches.
                      {clusterNode !== null && query !== '' ? (
                        <>
                          {' '}
                          <button class="btn" onClick={() => setSelected(query)} data-testid="cluster-lookup">
                            Find client id “{query}” in the cluster
                          </button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
          <div class="pager">
            <button class="btn" disabled={offset === 0} onClick={() => setOffset(0)}>
              «
            </button>
            <button class="btn" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))} data-testid="prev-page">
              ‹ Prev
            </button>
            <span data-testid="page">
              Page {fmt.int(page)} of {fmt.int(pages)}
            </span>
            <button class="btn" disabled={offset + PAGE >= matched} onClick={() => setOffset(offset + PAGE)} data-testid="next-page">
              Next ›
            </button>
            <button class="btn" disabled={offset + PAGE >= matched} onClick={() => setOffset((pages - 1) * PAGE)} data-testid="last-page">
              »
            </button>
          </div>
        </div>
        {selected !== undefined ? <Detail id={selected} cluster={clusterNode !== null} onClose={() => setSelected(undefined)} onGone={() => setTick((n) => n + 1)} /> : null}
      </div>
    </div>
  );
}

function Detail(props: { id: string; cluster: boolean; onClose: () => void; onGone: () => void }) {
  const [c, setC] = useState<ClientRow | undefined>();
  const [elsewhere, setElsewhere] = useState<ClusterClient | undefined>();
  const [error, setError] = useState('');
  const [confirm, setConfirm] = useState(false);
  const [note, setNote] = useState('');
  useEffect(() => {
    setC(undefined);
    setElsewhere(undefined);
    setConfirm(false);
    setNote('');
    let live = true;
    api<ClientRow>(`/dashboard/client?id=${encodeURIComponent(props.id)}`).then(
      (d) => {
        if (!live) return;
        setC(d);
        setError('');
      },
      (err: Error) => {
        if (!(props.cluster && err instanceof ApiError && err.status === 404)) return live && setError(err.message);
        // Not here: another node may hold it.
        api<ClusterClient>(`/api/v1/cluster/clients/${encodeURIComponent(props.id)}`).then(
          (w) => {
            if (!live) return;
            setElsewhere(w);
            setError('');
          },
          (e: Error) => live && setError(e.message),
        );
      },
    );
    return () => {
      live = false;
    };
  }, [props.id, props.cluster]);
  const disconnect = async (): Promise<void> => {
    try {
      await api(`/api/v1/clients/${encodeURIComponent(props.id)}/disconnect`, { method: 'POST' });
      setNote('Disconnected.');
      props.onGone();
      // The connection closes a moment after the answer: look again then.
      setTimeout(props.onGone, 1000);
    } catch (err) {
      setNote((err as Error).message);
    }
    setConfirm(false);
  };
  return (
    <div class="card detail" data-testid="client-detail">
      <div class="card-title">
        <span class="mono">{props.id}</span>
        <button class="btn ghost" onClick={props.onClose} title="Close">
          ✕
        </button>
      </div>
      {error ? <div class="alert">{error}</div> : null}
      {elsewhere ? (
        <table class="kv" data-testid="detail-cluster">
          <tbody>
            <tr>
              <th>State</th>
              <td>{elsewhere.node === null ? <span class="pill">no node holds it</span> : <span class="pill ok">held by another node</span>}</td>
            </tr>
            <tr>
              <th title="The node that holds the client id: its connection, or its session while it is away">Node</th>
              <td class="mono" data-testid="detail-node">
                {elsewhere.node ?? '–'}
              </td>
            </tr>
          </tbody>
        </table>
      ) : null}
      {c ? (
        <>
          <table class="kv">
            <tbody>
              <tr>
                <th>State</th>
                <td>{c.connected ? <span class="pill ok">connected</span> : <span class="pill">session only</span>}</td>
              </tr>
              <tr>
                <th>Address</th>
                <td class="mono">{c.address ?? '–'}</td>
              </tr>
              <tr>
                <th>Listener</th>
                <td>{c.listener ?? '–'}</td>
              </tr>
              <tr>
                <th>User</th>
                <td>{c.username ?? '–'}</td>
              </tr>
              <tr>
                <th>Protocol</th>
                <td data-testid="detail-protocol">{c.protocol ?? `MQTT ${protocolName(c.protocolVersion)}`}</td>
              </tr>
              <tr>
                <th>Keep alive</th>
                <td>{c.keepAlive ?? '–'} s</td>
              </tr>
              <tr>
                <th>Connected</th>
                <td>{c.connectedAt ? new Date(c.connectedAt).toLocaleString() : '–'}</td>
              </tr>
              <tr>
                <th>Session expiry</th>
                <td>{c.sessionExpiryInterval ?? 0} s</td>
              </tr>
              <tr>
                <th>In flight / queued</th>
                <td data-testid="detail-counts">
                  {c.inflight ?? 0} / {c.queued ?? 0}
                </td>
              </tr>
              <tr>
                <th>Will</th>
                <td>{c.will ? <span class="mono">{`${c.will.topic} · QoS ${c.will.qos}${c.will.retain ? ' · retained' : ''} · ${c.will.payloadBytes} B${c.will.delayInterval ? ` · after ${c.will.delayInterval} s` : ''}`}</span> : 'none'}</td>
              </tr>
            </tbody>
          </table>
          <div class="section-title">Subscriptions ({c.subscriptions?.length ?? 0})</div>
          <table class="table compact">
            <tbody>
              {c.subscriptions?.map((s) => (
                <tr key={s.filter}>
                  <td class="mono">{s.filter}</td>
                  <td class="num">QoS {s.qos}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="actions">
            {c.connected && !confirm ? (
              <button class="btn danger" onClick={() => setConfirm(true)} data-testid="disconnect">
                Disconnect
              </button>
            ) : null}
            {confirm ? (
              <>
                <span>Disconnect this client?</span>
                <button class="btn danger" onClick={() => void disconnect()} data-testid="confirm-disconnect">
                  Yes, disconnect
                </button>
                <button class="btn" onClick={() => setConfirm(false)}>
                  Cancel
                </button>
              </>
            ) : null}
            {note ? <span class="muted">{note}</span> : null}
          </div>
        </>
      ) : null}
    </div>
  );
}
