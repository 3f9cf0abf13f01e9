// A broker with the ops HTTP server and its dashboard on free loopback ports, and a login.

import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { Tool } from '../helpers/tools.js';
import { createBroker, createOpsServer, type Broker, type ClusterOptions, type OpsServer } from '../../src/index.js';
import type { BridgeStatus } from '../../src/bridge/index.js';
import type { Store } from '../../src/store/index.js';
import type { DashboardOptions } from '../../src/ops/dashboard/index.js';
import type { ListenerOptions } from '../../src/transport/types.js';

export const TOKEN = 'dashboard-test-token';

/** Debian's headless Chromium, driven by playwright-core (skipped loudly where missing, a failure under CI). */
export const chromiumTool: Tool = { name: 'chromium', path: existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined, hint: 'apt-get install chromium' };

/** Chromium as the dashboard tests run it: headless, quiet, a fresh temporary profile each launch. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumTool.path!,
    headless: true,
    timeout: 20_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-proxy-server', '--disable-dev-shm-usage'],
  });
}

export interface DashboardBroker {
  broker: Broker;
  ops: OpsServer;
  base: string;
  mqttPort: number;
  close(): Promise<void>;
}

export async function startDashboard(dashboard: DashboardOptions = {}, opts: { listeners?: ListenerOptions[]; config?: () => unknown; checkPassword?: (username: string, password: string) => Promise<boolean>; maxConnections?: number; bridges?: () => readonly BridgeStatus[]; cluster?: ClusterOptions; store?: Store; beforeListen?: (broker: Broker) => void } = {}): Promise<DashboardBroker> {
  const broker = createBroker({ logLevel: false, listeners: opts.listeners ?? [{ port: 0, host: '127.0.0.1' }], ...(opts.cluster !== undefined && { cluster: opts.cluster }), ...(opts.store !== undefined && { store: opts.store }) });
  opts.beforeListen?.(broker);
  const [info] = await broker.listen();
  const ops = createOpsServer(broker, {
    sysInterval: 0,
    http: { port: 0, adminToken: TOKEN, dashboard, ...(opts.maxConnections !== undefined && { maxConnections: opts.maxConnections }) },
    config: opts.config ?? (() => ({ http: { adminToken: '<redacted>' }, listeners: [{ type: 'tcp', port: info!.port }] })),
    reload: () => ({ ok: true, applied: [], needsRestart: [] }),
    ...(opts.checkPassword !== undefined && { checkPassword: opts.checkPassword }),
    ...(opts.bridges !== undefined && { bridges: opts.bridges }),
  });
  await ops.start();
  return {
    broker,
    ops,
    base: `http://127.0.0.1:${ops.address!.port}`,
    mqttPort: info!.port,
    close: async () => {
      await ops.close();
      await broker.close();
    },
  };
}

export interface Session {
  cookie: string;
  csrf: string;
  setCookie: string;
}

export async function login(base: string, token = TOKEN): Promise<Session> {
  const res = await fetch(`${base}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const { csrf } = (await res.json()) as { csrf: string };
  return { cookie: setCookie.split(';')[0]!, csrf, setCookie };
}

/** Reads server-sent events from `res` until `until` returns true for one, or `ms` pass. */
export async function readEvents<T>(res: Response, until: (event: string, data: T) => boolean, ms = 5000): Promise<Array<{ event: string; data: T }>> {
  const reader = res.body!.getReader();
  const seen: Array<{ event: string; data: T }> = [];
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${ms} ms; saw ${JSON.stringify(seen).slice(0, 500)}`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([reader.read(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no matching event within ${ms} ms; saw ${JSON.stringify(seen).slice(0, 500)}`)), left)))]);
      clearTimeout(timer);
      if (chunk.done) throw new Error(`stream ended; saw ${JSON.stringify(seen).slice(0, 500)}`);
      text += decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === undefined || data === undefined) continue;
        const e = { event, data: JSON.parse(data) as T };
        seen.push(e);
        if (until(e.event, e.data)) return seen;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
