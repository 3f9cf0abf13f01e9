// Per-test resources that close themselves: a broker, a raw client or an MQTT.js client
// opened with these is closed when the test ends (`t.after`).

import { Writable } from 'node:stream';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { RawClient, startBroker, type TestBroker } from './broker.js';

export type Ctx = { after(fn: () => unknown): void };

export async function broker(t: Ctx, options: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker> {
  const b = await startBroker(options);
  t.after(() => b.close());
  return b;
}

export async function raw(t: Ctx, b: TestBroker, connect: Parameters<typeof RawClient.connect>[1] = {}): Promise<RawClient> {
  const c = await RawClient.connect(b.port, connect);
  t.after(() => c.destroy());
  return c;
}

/** An MQTT.js client (5.0 unless told otherwise) that never reconnects by itself. */
export async function real(t: Ctx, b: TestBroker, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, connectTimeout: 2000, protocolVersion: 5, ...options });
  t.after(() => c.endAsync(true));
  return c;
}

/** A broker's log destination (option logDestination) keeping each JSON line, parsed, in `lines`. */
export function logCapture(): { lines: Array<Record<string, unknown> & { level: number; msg: string }>; logDestination: Writable } {
  const lines: Array<Record<string, unknown> & { level: number; msg: string }> = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.length > 0) lines.push(JSON.parse(l) as (typeof lines)[number]);
      done();
    },
  });
  return { lines, logDestination };
}
