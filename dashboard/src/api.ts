// The page's calls to the broker: the admin API and the dashboard's own endpoints, with the
// login cookie (sent by the browser, never readable here) and the CSRF token on every verb
// that changes something.

let csrf = '';
let onLoggedOut: () => void = () => {};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function whenLoggedOut(f: () => void): void {
  onLoggedOut = f;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-starling-csrf'] = csrf;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(init.body !== undefined && { body: JSON.stringify(init.body) }) });
  const text = await res.text();
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = { error: text };
  }
  if (res.status === 401 && !path.endsWith('/login')) onLoggedOut();
  if (!res.ok && !(res.status === 422 && path.endsWith('/reload'))) throw new ApiError(res.status, (data as { error?: string } | undefined)?.error ?? `${res.status} ${res.statusText}`);
  return data as T;
}

export interface SessionInfo {
  csrf: string;
  version: string;
  /** The password file's user logged in; null for the admin token. */
  user: string | null;
}

export async function currentSession(): Promise<SessionInfo | undefined> {
  try {
    const s = await api<SessionInfo>('/dashboard/session');
    csrf = s.csrf;
    return s;
  } catch {
    return undefined;
  }
}

export async function login(credentials: { token: string } | { username: string; password: string }): Promise<SessionInfo> {
  const s = await api<SessionInfo>('/dashboard/login', { method: 'POST', body: credentials });
  csrf = s.csrf;
  return s;
}

export async function logout(): Promise<void> {
  await api('/dashboard/logout', { method: 'POST' }).catch(() => {});
  csrf = '';
}

export const fmt = {
  int(n: number): string {
    return Math.round(n).toLocaleString('en-US');
  },
  rate(n: number): string {
    return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n === 0 ? 0 : 1);
  },
  bytes(n: number): string {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
  },
  duration(s: number): string {
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d}d ${h}h ${m}m`;
    if (h > 0) return `${h}h ${m}m`;
    return `${m}m ${Math.floor(s % 60)}s`;
  },
  ms(n: number): string {
    return n >= 10 ? `${Math.round(n)} ms` : `${n.toFixed(2)} ms`;
  },
  ago(iso: string | undefined): string {
    if (iso === undefined) return '';
    const s = (Date.now() - Date.parse(iso)) / 1000;
    if (s < 2) return 'just now';
    if (s < 60) return `${Math.floor(s)} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    return new Date(iso).toLocaleString();
  },
};

/** A payload as text, pretty JSON, or hex. */
export function renderPayload(payload: string, encoding: 'utf8' | 'base64', as: 'text' | 'json' | 'hex'): string {
  const bytes = encoding === 'base64' ? Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)) : new TextEncoder().encode(payload);
  if (as === 'hex') {
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = bytes.subarray(i, i + 16);
      const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
      lines.push(`${i.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${ascii}`);
    }
    return lines.join('\n');
  }
  const text = encoding === 'base64' ? new TextDecoder().decode(bytes) : payload;
  if (as === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (err) {
      return `not JSON: ${(err as Error).message}`;
    }
  }
  return text;
}
