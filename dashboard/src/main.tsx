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
        <div class="who" data-testid="who">
          {session.user === null ? 'Logged in with the admin token' : `Logged in as ${session.user}`}
        </div>
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
  const [mode, setMode] = useState<'token' | 'user'>('token');
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    try {
      props.onLogin(await login(mode === 'token' ? { token } : { username, password }));
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      setError(status === 401 ? (mode === 'token' ? 'Wrong token.' : 'Wrong user name or password.') : status === 429 || status === 503 ? 'Too many login attempts: wait a moment and try again.' : status === 404 ? 'Logging in needs http.adminToken (or http.dashboard.adminUsers) in the broker’s config.' : (err as Error).message);
    }
    setBusy(false);
  };
  const ready = mode === 'token' ? token !== '' : username !== '' && password !== '';
  return (
    <div class="login">
      <form class="login-card" onSubmit={(e) => void submit(e)} data-testid="login-form">
        <div class="brand center">
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <div class="brand-name big">Starling</div>
        </div>
        <div class="tabs center">
          <button type="button" class={`tab ${mode === 'token' ? 'active' : ''}`} onClick={() => setMode('token')} data-testid="mode-token">
            Admin token
          </button>
          <button type="button" class={`tab ${mode === 'user' ? 'active' : ''}`} onClick={() => setMode('user')} data-testid="mode-user">
            User
          </button>
        </div>
        {mode === 'token' ? (
          <label>
            Admin token <span class="mono">(http.adminToken)</span>
            <input type="password" autoComplete="current-password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoFocus data-testid="token" />
          </label>
        ) : (
          <>
            <label>
              User name <span class="mono">(http.dashboard.adminUsers)</span>
              <input autoComplete="username" value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} autoFocus data-testid="username" />
            </label>
            <label>
              Password
              <input type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} data-testid="password" />
            </label>
          </>
        )}
        {error ? (
          <div class="alert" data-testid="login-error">
            {error}
          </div>
        ) : null}
        <button class="btn primary wide" type="submit" disabled={busy || !ready} data-testid="login">
          Log in
        </button>
      </form>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
