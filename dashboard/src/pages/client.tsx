// A client by hand: publish through the admin API, and watch a subscription made by an
// in-process client on the broker (/dashboard/watch, server-sent events).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, fmt } from '../api';

interface Watched {
  topic: string;
  payload: string;
  encoding: 'utf8' | 'base64';
  size: number;
  qos: number;
  retain: boolean;
  at: string;
  skipped: number;
}

const KEEP = 200;

export function ClientPage() {
  const [topic, setTopic] = useState('');
  const [payload, setPayload] = useState('');
  const [qos, setQos] = useState(0);
  const [retain, setRetain] = useState(false);
  const [result, setResult] = useState('');
  const [filter, setFilter] = useState('#');
  const [subQos, setSubQos] = useState(0);
  const [watching, setWatching] = useState<string | undefined>();
  const [messages, setMessages] = useState<Watched[]>([]);
  const [skipped, setSkipped] = useState(0);
  const [subError, setSubError] = useState('');
  const es = useRef<EventSource | null>(null);

  useEffect(() => () => es.current?.close(), []);

  const publish = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const r = await api<{ deliveredTo: number }>('/api/v1/publish', { method: 'POST', body: { topic, payload, qos, retain } });
      setResult(`Published to ${topic}: delivered to ${r.deliveredTo} subscriber${r.deliveredTo === 1 ? '' : 's'}.`);
    } catch (err) {
      setResult(`Refused: ${(err as Error).message}`);
    }
  };

  const subscribe = (e: Event): void => {
    e.preventDefault();
    es.current?.close();
    setMessages([]);
    setSkipped(0);
    setSubError('');
    const source = new EventSource(`/dashboard/watch?filter=${encodeURIComponent(filter)}&qos=${subQos}`);
    es.current = source;
    source.addEventListener('subscribed', () => setWatching(filter));
    source.addEventListener('message', (ev) => {
      const m = JSON.parse((ev as MessageEvent<string>).data) as Watched;
      setSkipped(m.skipped);
      setMessages((old) => [m, ...old].slice(0, KEEP));
    });
    source.onerror = () => {
      // An EventSource retries on its own; one refused at the start (a bad filter) would retry forever.
      if (source.readyState !== EventSource.OPEN) {
        source.close();
        setWatching(undefined);
        setSubError('The subscription was refused or ended (check the filter and the ACL).');
      }
    };
  };

  const stop = (): void => {
    es.current?.close();
    es.current = null;
    setWatching(undefined);
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Client</h1>
        <span class="muted">Publish and subscribe by hand, as a client inside the broker.</span>
      </div>
      <div class="grid-2">
        <form class="card form" onSubmit={(e) => void publish(e)} data-testid="publish-form">
          <div class="card-title">Publish</div>
          <label>
            Topic
            <input value={topic} onInput={(e) => setTopic((e.target as HTMLInputElement).value)} placeholder="sensors/room1/temp" required data-testid="pub-topic" />
          </label>
          <label>
            Payload
            <textarea rows={5} value={payload} onInput={(e) => setPayload((e.target as HTMLTextAreaElement).value)} placeholder='{"celsius": 21.5}' data-testid="pub-payload" />
          </label>
          <div class="row">
            <label>
              QoS
              <select value={qos} onChange={(e) => setQos(Number((e.target as HTMLSelectElement).value))}>
                <option value={0}>0</option>
                <option value={1}>1</option>
                <option value={2}>2</option>
              </select>
            </label>
            <label class="check">
              <input type="checkbox" checked={retain} onChange={(e) => setRetain((e.target as HTMLInputElement).checked)} /> Retain
            </label>
            <button class="btn primary" type="submit" data-testid="pub-send">
              Publish
            </button>
          </div>
          {result ? (
            <div class="note" data-testid="pub-result">
              {result}
            </div>
          ) : null}
        </form>
        <div class="card">
          <form class="form" onSubmit={subscribe}>
            <div class="card-title">Subscribe</div>
            <div class="row">
              <label class="grow">
                Filter
                <input value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} data-testid="sub-filter" />
              </label>
              <label>
                QoS
                <select value={subQos} onChange={(e) => setSubQos(Number((e.target as HTMLSelectElement).value))}>
                  <option value={0}>0</option>
                  <option value={1}>1</option>
                  <option value={2}>2</option>
                </select>
              </label>
              {watching === undefined ? (
                <button class="btn primary" type="submit" data-testid="sub-start">
                  Subscribe
                </button>
              ) : (
                <button class="btn" type="button" onClick={stop}>
                  Stop
                </button>
              )}
            </div>
          </form>
          {subError ? <div class="alert">{subError}</div> : null}
          <div class="muted small" data-testid="sub-state">
            {watching !== undefined ? `Subscribed to ${watching} · ${messages.length} shown${skipped ? ` · ${fmt.int(skipped)} skipped (rate limit)` : ''}` : 'Not subscribed.'}
          </div>
          <div class="messages" data-testid="sub-messages">
            {messages.map((m, i) => (
              <div class="message" key={`${m.at}-${i}`}>
                <div class="message-head">
                  <span class="mono strong">{m.topic}</span>
                  <span class="muted small">
                    QoS {m.qos}
                    {m.retain ? ' · retained' : ''} · {new Date(m.at).toLocaleTimeString()}
                  </span>
                </div>
                <div class="mono payload-line">{m.encoding === 'utf8' ? m.payload : `(binary, ${m.size} bytes)`}</div>
              </div>
            ))}
          </div>
        </div>
      </div>
    </div>
  );
}
