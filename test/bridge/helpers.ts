// Bridges in tests: a Starling with bridges built from YAML the way the CLI builds them,
// MQTT.js clients that record what they receive, and waiting for a bridge's link.

import type { TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { bridgesFromConfig, type Bridge, type BridgeManager } from '../../src/bridge/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { BrokerOptions } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

export interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly retain: boolean;
  readonly dup: boolean;
}

export interface Recorder {
  readonly client: MqttClient;
  readonly messages: Received[];
  /** Messages on `topic` so far. */
  on(topic: string): Received[];
}

/** An MQTT.js client recording every message; ended after the test. */
export async function recorder(t: TestContext, url: string, options: mqtt.IClientOptions = {}, subscribe: Record<string, mqtt.IClientSubscribeOptions> = {}): Promise<Recorder> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, protocolVersion: 5, ...options });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup });
  });
  client.on('error', () => undefined);
  if (Object.keys(subscribe).length > 0) await client.subscribeAsync(subscribe);
  t.after(() => client.endAsync(true).catch(() => undefined));
  return { client, messages, on: (topic) => messages.filter((m) => m.topic === topic) };
}

export interface BridgedStarling {
  readonly tb: TestBroker;
  readonly bridges: BridgeManager;
  readonly bridge: Bridge;
}

/**
 * A Starling (memory store unless `options` says otherwise) with the bridges of `yaml` (the
 * `bridges:` section of a config file), started; stopped after the test.
 */
export async function bridgedStarling(t: TestContext, yaml: string, options: BrokerOptions = {}): Promise<BridgedStarling> {
  const tb = await startBroker(options);
  const { config } = loadConfig({ file: 'starling.yaml', text: yaml, env: {} });
  const bridges = bridgesFromConfig(tb.broker, config.bridges);
  await bridges.start((name, err) => {
    throw new Error(`bridge ${name} did not start: ${err.message}`);
  });
  t.after(async () => {
    await bridges.stop();
    await tb.close();
  });
  return { tb, bridges, bridge: bridges.bridges[0]! };
}

export async function linkUp(bridge: Bridge, ms = 10_000): Promise<void> {
  await until(`bridge ${bridge.name} connected`, () => bridge.status().state === 'connected', ms);
}

/**
 * Publishes `probe` on `from` until `to` receives it: the subscriptions on the path are in
 * place (a remote SUBSCRIBE is answered after CONNACK).
 */
export async function flowing(from: MqttClient, topic: string, to: Recorder, expectTopic: string, ms = 10_000): Promise<void> {
  await until(
    `a probe from ${topic} to arrive as ${expectTopic}`,
    async () => {
      if (to.on(expectTopic).length > 0) return true;
      await from.publishAsync(topic, 'probe', { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
      return to.on(expectTopic).length > 0;
    },
    ms,
    0,
  );
}
