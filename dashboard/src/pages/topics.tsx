// Topics: the live tree of what the broker routes (/dashboard/topics). Each open branch is
// asked for again every two seconds, so the rates and last payloads stay current without
// fetching the whole tree.
import { useEffect, useState } from 'preact/hooks';
import { api, fmt, renderPayload } from '../api';

export interface TopicNode {
  name: string;
  topic: string;
  messages: number;
  rate: number;
  children: number;
  last?: { payload: string; encoding: 'utf8' | 'base64'; size: number; truncated: boolean; at: string; retain: boolean; qos: number };
}

interface Level {
  total: number;
  nodes: TopicNode[];
  rate: number;
  size: number;
  untracked: number;
}

const REFRESH = 2000;

export function Topics() {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [levels, setLevels] = useState<Map<string, Level>>(new Map());
  const [selected, setSelected] = useState<TopicNode | undefined>();
  const [q, setQ] = useState('');
  const [found, setFound] = useState<TopicNode[] | undefined>();
  const [error, setError] = useState('');

  useEffect(() => {
    let stop = false;
    const load = async (): Promise<void> => {
      const prefixes = ['', ...open];
      const next = new Map<string, Level>();
      await Promise.all(
        prefixes.map(async (p) => {
          try {
            next.set(p, await api<Level>(`/dashboard/topics?prefix=${encodeURIComponent(p)}`));
          } catch (err) {
            if (p === '') setError((err as Error).message);
          }
        }),
      );
      if (stop) return;
      setLevels(next);
      setSelected((s) => {
        if (s === undefined) return s;
        const parent = s.topic.includes('/') ? s.topic.slice(0, s.topic.lastIndexOf('/')) : '';
        return next.get(parent)?.nodes.find((n) => n.topic === s.topic) ?? s;
      });
    };
    void load();
    const t = setInterval(() => void load(), REFRESH);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [open]);

  useEffect(() => {
    if (q.trim() === '') {
      setFound(undefined);
      return;
    }
    const t = setTimeout(() => {
      api<{ nodes: TopicNode[] }>(`/dashboard/topics?q=${encodeURIComponent(q.trim())}&limit=200`).then(
        (d) => setFound(d.nodes),
        (err: Error) => setError(err.message),
      );
    }, 250);
    return () => clearTimeout(t);
  }, [q]);

  const toggle = (topic: string): void => {
    const next = new Set(open);
    if (next.has(topic)) {
      for (const t of next) if (t === topic || t.startsWith(`${topic}/`)) next.delete(t);
    } else next.add(topic);
    setOpen(next);
  };
  const root = levels.get('');
  const rows: Array<{ node: TopicNode; depth: number }> = [];
  const walk = (prefix: string, depth: number): void => {
    for (const node of levels.get(prefix)?.nodes ?? []) {
      rows.push({ node, depth });
      if (open.has(node.topic)) walk(node.topic, depth + 1);
    }
  };
  walk('', 0);
  const list = found === undefined ? rows : found.map((node) => ({ node, depth: 0 }));
  return (
    <div class="page">
      <div class="page-head">
        <h1>Topics</h1>
        <span class="muted">{root ? `${fmt.rate(root.rate)} msg/s routed · ${fmt.int(root.size)} nodes${root.untracked ? ` · ${fmt.int(root.untracked)} untracked` : ''}` : ''}</span>
      </div>
      <div class="split">
        <div class="card grow">
          <div class="toolbar">
            <input class="search" type="search" placeholder="Find a topic…" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} data-testid="topic-search" />
          </div>
          {error ? <div class="alert">{error}</div> : null}
          <table class="table hover tree" data-testid="topic-tree">
            <thead>
              <tr>
                <th>Topic</th>
                <th class="num">msg/s</th>
                <th class="num">Messages</th>
                <th>Last payload</th>
              </tr>
            </thead>
            <tbody>
              {list.map(({ node, depth }) => (
                <tr key={node.topic} class={selected?.topic === node.topic ? 'selected' : ''} data-topic={node.topic} onClick={() => setSelected(node)}>
                  <td style={{ paddingLeft: `${12 + depth * 18}px` }}>
                    {node.children > 0 && found === undefined ? (
                      <button
                        class="twisty"
                        onClick={(e) => {
                          e.stopPropagation();
                          toggle(node.topic);
                        }}
                      >
                        {open.has(node.topic) ? '▾' : '▸'}
                      </button>
                    ) : (
                      <span class="twisty-space" />
                    )}
                    <span class="mono">{found === undefined ? node.name || '(empty)' : node.topic}</span>
                    {node.children > 0 ? <span class="muted small"> {node.children}</span> : null}
                  </td>
                  <td class="num">
                    <RateBar rate={node.rate} max={root?.rate ?? 0} />
                  </td>
                  <td class="num">{fmt.int(node.messages)}</td>
                  <td class="mono preview">{node.last ? preview(node) : ''}</td>
                </tr>
              ))}
              {list.length === 0 ? (
                <tr>
                  <td colSpan={4} class="empty">
                    {found === undefined ? 'Nothing routed yet.' : 'No topic matches.'}
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
        {selected?.last ? <Payload node={selected} /> : null}
      </div>
    </div>
  );
}

function preview(n: TopicNode): string {
  const l = n.last!;
  const text = l.encoding === 'utf8' ? l.payload : `0x${renderPayload(l.payload, 'base64', 'hex').split('\n')[0]!.slice(8, 40).replace(/ /g, '')}`;
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function RateBar(props: { rate: number; max: number }) {
  const w = props.max > 0 ? Math.max(2, Math.round((props.rate / props.max) * 60)) : 0;
  return (
    <span class="rate">
      {props.rate > 0 ? <span class="bar" style={{ width: `${w}px` }} /> : null}
      {fmt.rate(props.rate)}
    </span>
  );
}

function Payload(props: { node: TopicNode }) {
  const [as, setAs] = useState<'text' | 'json' | 'hex'>('text');
  const l = props.node.last!;
  return (
    <div class="card detail">
      <div class="card-title mono">{props.node.topic}</div>
      <div class="muted small">
        {fmt.bytes(l.size)} · QoS {l.qos}
        {l.retain ? ' · retained' : ''} · {fmt.ago(l.at)}
        {l.truncated ? ' · first 256 bytes shown' : ''}
      </div>
      <Tabs value={as} onChange={setAs} />
      <pre class="payload">{renderPayload(l.payload, l.encoding, as)}</pre>
    </div>
  );
}

export function Tabs(props: { value: 'text' | 'json' | 'hex'; onChange: (v: 'text' | 'json' | 'hex') => void }) {
  return (
    <div class="tabs">
      {(['text', 'json', 'hex'] as const).map((v) => (
        <button key={v} class={`tab ${props.value === v ? 'active' : ''}`} onClick={() => props.onChange(v)} data-testid={`as-${v}`}>
          {v === 'json' ? 'JSON' : v === 'hex' ? 'Hex' : 'Text'}
        </button>
      ))}
    </div>
  );
}
