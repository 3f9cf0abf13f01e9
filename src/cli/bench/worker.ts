// One worker thread of the generator: it opens the clients the coordinator gives it, starts
// and stops its publishers when told, and hands back latency samples and errors at the end.
// Counts go to its slots of the shared counters as they happen.

import { parentPort } from 'node:worker_threads';
import type { ProtocolVersion, QoS } from '../../codec/index.js';
import { BenchClient, IdleClient, Publisher, Subscriber, publisherBatches, tlsOptions, type ClientContext } from './client.js';
import { C, Counters } from './stats.js';
import { topicAt, topicSetSize, type TopicSet } from './wire.js';
import { mulberry32 } from './random.js';

export interface PublisherSpec {
  index: number;
  clientId: string;
  topics: TopicSet;
  /** Messages per second for this publisher; 0 = as fast as the broker reads. */
  rate: number;
}

export interface SubscriberSpec {
  clientId: string;
  filters: TopicSet;
  track: boolean;
  latency: boolean;
}

export interface WorkerInit {
  type: 'init';
  worker: number;
  counters: SharedArrayBuffer;
  base: bigint;
  host: string;
  port: number;
  subscriberPort?: number;
  version: ProtocolVersion;
  qos: QoS;
  payloadSize: number;
  inflight: number;
  timeoutMs: number;
  /** TLS, with the CA (PEM) to verify the broker's certificate against, if any. */
  /** `resume`: connect every client once first (not measured), then measure reconnecting with its session. */
  tls: { ca?: string; resume?: boolean } | undefined;
  connectConcurrency: number;
  seed: number;
  publishers: PublisherSpec[];
  subscribers: SubscriberSpec[];
  idle: string[];
}

export type ToWorker = WorkerInit | { type: 'storm' } | { type: 'go'; measureFrom: number } | { type: 'stop' } | { type: 'finish' };

export type FromWorker =
  /** Times in ms since the epoch, comparable across threads. */
  | { type: 'ready'; connectStart: number; connectEnd: number; subscribeEnd: number; subscribers: number; failed: number; resumed: number }
  /** --tls-resume: every client connected once and closed; waits for 'storm'. */
  | { type: 'primed'; failed: number }
  | { type: 'stopped' }
  | { type: 'result'; latencies: Float64Array; errors: string[] }
  | { type: 'error'; message: string };

/** Opens clients with at most `concurrency` handshakes under way; returns how many failed. */
async function openAll(clients: BenchClient[], concurrency: number, ctx: ClientContext): Promise<number> {
  let next = 0;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (next < clients.length) {
      const client = clients[next++]!;
      try {
        await client.open();
        ctx.counters[C.connected]!++;
      } catch (err) {
        failed++;
        ctx.counters[C.connectFailed]!++;
        if (ctx.errors.length < 10) ctx.errors.push((err as Error).message);
        client.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, lane));
  return failed;
}

const port = parentPort;
if (port) {
  let ctx: ClientContext | undefined;
  let publishers: Publisher[] = [];
  let subscribers: Subscriber[] = [];
  let idle: IdleClient[] = [];
  let pinger: NodeJS.Timeout | undefined;
  let storm: () => void = () => undefined;
  const post = (m: FromWorker): void => port.postMessage(m);

  const init = async (m: WorkerInit): Promise<void> => {
    const c: ClientContext = {
      host: m.host,
      port: m.port,
      ...(m.subscriberPort !== undefined && { subscriberPort: m.subscriberPort }),
      version: m.version,
      qos: m.qos,
      payloadSize: m.payloadSize,
      counters: Counters.slot(m.counters, m.worker),
      base: m.base,
      timeoutMs: m.timeoutMs,
      tls: m.tls === undefined ? undefined : tlsOptions(m.tls.ca),
      errors: [],
    };
    ctx = c;
    const random = mulberry32(m.seed);
    subscribers = m.subscribers.map((s) => {
      const filters = Array.from({ length: topicSetSize(s.filters) }, (_, i) => topicAt(s.filters, i));
      return new Subscriber(c, s.clientId, { filters, track: s.track, latency: s.latency });
    });
    publishers = m.publishers.map((p) => {
      const batches = publisherBatches({ count: topicSetSize(p.topics), at: (i) => topicAt(p.topics, i) }, c, 64, random);
      return new Publisher(c, p.clientId, { index: p.index, batches, rate: p.rate, inflight: m.inflight });
    });
    idle = m.idle.map((id) => new IdleClient(c, id));
    if (m.tls?.resume === true) {
      // What devices do after an outage: come back with the TLS session they had. Each
      // client connects once (not measured) and keeps its ticket; the storm reconnects them.
      const primed = new Promise<void>((resolve) => (storm = resolve));
      const failedFirst = await openAll(idle, m.connectConcurrency, c);
      await Promise.all(idle.map((cl) => cl.close()));
      c.counters[C.connected] = 0;
      const sessions = idle.map((cl) => cl.tlsSession);
      idle = m.idle.map((id, i) => {
        const cl = new IdleClient(c, id);
        cl.tlsSession = sessions[i];
        return cl;
      });
      post({ type: 'primed', failed: failedFirst });
      await primed;
    }

    const connectStart = performance.timeOrigin + performance.now();
    let failed = await openAll([...subscribers, ...publishers, ...idle], m.connectConcurrency, c);
    const connectEnd = performance.timeOrigin + performance.now();
    // Subscriptions: every subscriber at once, each with a few SUBSCRIBEs in flight.
    const subscribing = subscribers.filter((s) => s.connected).map((s) =>
      s.subscribeAll().catch((err: Error) => {
        failed++;
        if (c.errors.length < 10) c.errors.push(err.message);
      }),
    );
    await Promise.all(subscribing);
    const subscribeEnd = performance.timeOrigin + performance.now();
    // Keep alive is 60 s; a run longer than that pings every connection every 30 s.
    pinger = setInterval(() => {
      for (const cl of [...subscribers, ...publishers, ...idle]) cl.ping();
    }, 30_000);
    pinger.unref();
    const resumed = idle.reduce((n, cl) => n + (cl.connected && cl.resumed ? 1 : 0), 0);
    post({ type: 'ready', connectStart, connectEnd, subscribeEnd, subscribers: subscribers.length, failed, resumed });
  };

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'init':
        init(m).catch((err: Error) => post({ type: 'error', message: err.stack ?? err.message }));
        break;
      case 'storm':
        storm();
        break;
      case 'go':
        for (const s of subscribers) s.measureFrom = m.measureFrom;
        for (const p of publishers) p.start();
        break;
      case 'stop':
        for (const p of publishers) p.stop();
        post({ type: 'stopped' });
        break;
      case 'finish': {
        if (pinger) clearInterval(pinger);
        let total = 0;
        for (const s of subscribers) total += s.latencyCount;
        const latencies = new Float64Array(total);
        let at = 0;
        for (const s of subscribers) {
          latencies.set(s.latencies.subarray(0, s.latencyCount), at);
          at += s.latencyCount;
        }
        const closing = [...subscribers, ...publishers, ...idle].map((cl) => cl.close());
        void Promise.all(closing).then(() => post({ type: 'result', latencies, errors: ctx?.errors ?? [] }));
        break;
      }
    }
  });
}
