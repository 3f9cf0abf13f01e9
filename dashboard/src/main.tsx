// The Starling dashboard: a login gate, then one page per hash route.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, currentSession, login, logout, whenLoggedOut, type SessionInfo } from './api';
import { ClientPage } from './pages/client';
import { Clients } from './pages/clients';
import { ConfigPage } from './pages/config';
import { Overview } from './pages/overview';
import { RetainedPage } from './pages/retained';
import { Topics } from './pages/topics';
import './style.css';

const PAGES = [
  { route: 'overview', label: 'Overview', icon: '◔', view: Overview },
  { route: 'clients', label: 'Clients', icon: '⇄', view: Clients },
  { route: 'topics', label: 'Topics', icon: '⋔', view: Topics },
  { route: 'retained', label: 'Retained', icon: '▤', view: RetainedPage },
  { route: 'client', label: 'Client', icon: '✎', view: ClientPage },
  { route: 'config', label: 'Config', icon: '⚙', view: ConfigPage },
] as const;

function routeOf(): string {
  const r = location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.route === r) ? r : 'overview';
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [route, setRoute] = useState(routeOf());
  useEffect(() => {
    void currentSession().then((s) => setSession(s ?? null));
    whenLoggedOut(() => setSession(null));
    const onHash = (): void => setRoute(routeOf());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  if (session === undefined) return <div class="loading">Loading…</div>;
  if (session === null) return <Login onLogin={setSession} />;
  const page = PAGES.find((p) => p.route === route)!;
  const View = page.view;
  return (
    <div class="shell">
      <nav class="sidebar">
        <div class="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <div>
            <div class="brand-name">Starling</div>
            <div class="brand-sub">MQTT broker · {session.version}</div>
          </div>
        </div>
        {PAGES.map((p) => (
          <a key={p.route} href={`#/${p.route}`} class={`nav ${p.route === route ? 'active' : ''}`} data-testid={`nav-${p.route}`}>
            <span class="nav-icon">{p.icon}</span>
            {p.label}
          </a>
        ))}
        <div class="spacer" />
        <button
          class="nav logout"
          data-testid="logout"
          onClick={() => {
            void logout().then(() => setSession(null));
          }}
        >
          <span class="nav-icon">↩</span>Log out
        </button>
      </nav>
      <main class="main">
        <View key={route} />
      </main>
    </div>
  );
}

function Login(props: { onLogin: (s: SessionInfo) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    try {
      props.onLogin(await login(token));
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      setError(status === 401 ? 'Wrong token.' : status === 404 ? 'Logging in needs http.adminToken in the broker’s config.' : (err as Error).message);
    }
    setBusy(false);
  };
  return (
    <div class="login">
      <form class="login-card" onSubmit={(e) => void submit(e)} data-testid="login-form">
        <div class="brand center">
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <div class="brand-name big">Starling</div>
        </div>
        <p class="muted">Log in with the broker’s admin token (<span class="mono">http.adminToken</span>).</p>
        <label>
          Admin token
          <input type="password" autoComplete="current-password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoFocus data-testid="token" />
        </label>
        {error ? (
          <div class="alert" data-testid="login-error">
            {error}
          </div>
        ) : null}
        <button class="btn primary wide" type="submit" disabled={busy || token === ''} data-testid="login">
          Log in
        </button>
      </form>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
