// Retained messages: browse by topic prefix, look at a payload as text, JSON or hex, delete.
import { useEffect, useState } from 'preact/hooks';
import { api, fmt, renderPayload } from '../api';
import { Tabs } from './topics';

interface Retained {
  topic: string;
  payload: string;
  encoding: 'utf8' | 'base64';
  qos: number;
  expiresAt?: string;
  contentType?: string;
}

const LIMIT = 1000;

/** The filter that covers every topic starting with `prefix`: its whole levels, then `#`. */
export function filterFor(prefix: string): string {
  const cut = prefix.lastIndexOf('/');
  return cut < 0 ? '#' : `${prefix.slice(0, cut + 1)}#`;
}

function size(m: Retained): number {
  return m.encoding === 'base64' ? Math.floor((m.payload.length * 3) / 4) - (m.payload.endsWith('==') ? 2 : m.payload.endsWith('=') ? 1 : 0) : new TextEncoder().encode(m.payload).length;
}

export function RetainedPage() {
  const [prefix, setPrefix] = useState('');
  const [data, setData] = useState<{ total: number; messages: Retained[] } | undefined>();
  const [selected, setSelected] = useState<Retained | undefined>();
  const [as, setAs] = useState<'text' | 'json' | 'hex'>('text');
  const [confirm, setConfirm] = useState(false);
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const t = setTimeout(() => {
      api<{ total: number; messages: Retained[] }>(`/api/v1/retained?filter=${encodeURIComponent(filterFor(prefix))}&limit=${LIMIT}`).then(
        (d) => {
          setData({ total: d.total, messages: d.messages.filter((m) => m.topic.startsWith(prefix)).sort((a, b) => (a.topic < b.topic ? -1 : 1)) });
          setError('');
        },
        (err: Error) => setError(err.message),
      );
    }, 200);
    return () => clearTimeout(t);
  }, [prefix, tick]);

  const remove = async (m: Retained): Promise<void> => {
    try {
      await api(`/api/v1/retained?topic=${encodeURIComponent(m.topic)}`, { method: 'DELETE' });
      setNote(`Deleted ${m.topic}.`);
      setSelected(undefined);
      setTick(tick + 1);
    } catch (err) {
      setNote((err as Error).message);
    }
    setConfirm(false);
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Retained messages</h1>
        <span class="muted" data-testid="retained-count">
          {data ? `${fmt.int(data.messages.length)} shown${data.total > LIMIT ? ` of the first ${fmt.int(LIMIT)} under ${filterFor(prefix)}` : ''}` : ''}
        </span>
      </div>
      <div class="split">
        <div class="card grow">
          <div class="toolbar">
            <input class="search" type="search" placeholder="Topic prefix, e.g. sensors/" value={prefix} onInput={(e) => setPrefix((e.target as HTMLInputElement).value)} data-testid="retained-prefix" />
            <button class="btn" onClick={() => setTick(tick + 1)}>
              Refresh
            </button>
          </div>
          {error ? <div class="alert">{error}</div> : null}
          {note ? <div class="note">{note}</div> : null}
          <table class="table hover" data-testid="retained-table">
            <thead>
              <tr>
                <th>Topic</th>
                <th class="num">QoS</th>
                <th class="num">Size</th>
                <th>Payload</th>
              </tr>
            </thead>
            <tbody>
              {data?.messages.map((m) => (
                <tr
                  key={m.topic}
                  data-topic={m.topic}
                  class={selected?.topic === m.topic ? 'selected' : ''}
                  onClick={() => {
                    setSelected(m);
                    setConfirm(false);
                  }}
                >
                  <td class="mono">{m.topic}</td>
                  <td class="num">{m.qos}</td>
                  <td class="num">{fmt.bytes(size(m))}</td>
                  <td class="mono preview">{m.encoding === 'utf8' ? m.payload.slice(0, 60) : '(binary)'}</td>
                </tr>
              ))}
              {data && data.messages.length === 0 ? (
                <tr>
                  <td colSpan={4} class="empty">
                    No retained message here.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
        {selected ? (
          <div class="card detail" data-testid="retained-detail">
            <div class="card-title mono">{selected.topic}</div>
            <div class="muted small">
              QoS {selected.qos} · {fmt.bytes(size(selected))}
              {selected.contentType ? ` · ${selected.contentType}` : ''}
              {selected.expiresAt ? ` · expires ${new Date(selected.expiresAt).toLocaleString()}` : ''}
            </div>
            <Tabs value={as} onChange={setAs} />
            <pre class="payload" data-testid="retained-payload">
              {renderPayload(selected.payload, selected.encoding, as)}
            </pre>
            <div class="actions">
              {!confirm ? (
                <button class="btn danger" onClick={() => setConfirm(true)} data-testid="delete-retained">
                  Delete
                </button>
              ) : (
                <>
                  <span>Delete this retained message?</span>
                  <button class="btn danger" onClick={() => void remove(selected)} data-testid="confirm-delete">
                    Yes, delete
                  </button>
                  <button class="btn" onClick={() => setConfirm(false)}>
                    Cancel
                  </button>
                </>
              )}
            </div>
          </div>
        ) : null}
      </div>
    </div>
  );
}
