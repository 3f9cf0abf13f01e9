// The effective config (secrets redacted by the broker) and a reload.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';

interface ReloadResult {
  ok: boolean;
  applied: string[];
  needsRestart: string[];
  error?: string;
}

export function ConfigPage() {
  const [config, setConfig] = useState<unknown>();
  const [error, setError] = useState('');
  const [result, setResult] = useState<ReloadResult | undefined>();
  const [busy, setBusy] = useState(false);
  const load = (): void => {
    api<unknown>('/api/v1/config').then(
      (c) => {
        setConfig(c);
        setError('');
      },
      (err: Error) => setError(err.message),
    );
  };
  useEffect(load, []);
  const reload = async (): Promise<void> => {
    setBusy(true);
    try {
      setResult(await api<ReloadResult>('/api/v1/reload', { method: 'POST' }));
      load();
    } catch (err) {
      setResult({ ok: false, applied: [], needsRestart: [], error: (err as Error).message });
    }
    setBusy(false);
  };
  return (
    <div class="page">
      <div class="page-head">
        <h1>Configuration</h1>
        <button class="btn primary" onClick={() => void reload()} disabled={busy} data-testid="reload">
          {busy ? 'Reloading…' : 'Reload config'}
        </button>
      </div>
      {result ? (
        <div class={result.ok ? 'note' : 'alert'} data-testid="reload-result">
          {result.ok ? 'Reloaded.' : `Reload failed: ${result.error ?? 'unknown error'}`}
          {result.applied.length ? ` Applied: ${result.applied.join(', ')}.` : result.ok ? ' Nothing changed.' : ''}
          {result.needsRestart.length ? ` Needs a restart: ${result.needsRestart.join(', ')}.` : ''}
        </div>
      ) : null}
      {error ? <div class="alert">{error}</div> : null}
      <div class="card">
        <div class="card-title">Effective configuration <span class="muted">secrets are redacted</span></div>
        <pre class="payload config" data-testid="config">
          {config === undefined ? '' : JSON.stringify(config, null, 2)}
        </pre>
      </div>
    </div>
  );
}
