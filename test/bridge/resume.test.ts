// In-flight QoS 1/2 messages resumed with the remote's session after a reconnection, packet
// by packet, against a scripted remote [MQTT-4.4.0-1]: an unacknowledged PUBLISH again with
// DUP and its packet id, a PUBREL again for a PUBREC received, each once; and the remote's
// Receive Maximum respected, so a strict remote does not close the link over and over.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Decoder, encode, type Packet } from '../../src/codec/index.js';
import { createStore } from '../../src/index.js';
import { startBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { bridgedStarling, linkUp, recorder } from './helpers.js';

/** A remote that records each connection's packets and answers as the test says. */
class ScriptedRemote {
  readonly connections: Array<{ socket: net.Socket; packets: Packet[] }> = [];
  port = 0;
  private readonly server: net.Server;

  constructor(private readonly answer: (packet: Packet, conn: number, socket: net.Socket) => void) {
    this.server = net.createServer((socket) => {
      const conn = this.connections.length;
      const record = { socket, packets: [] as Packet[] };
      this.connections.push(record);
      const decoder = new Decoder(
        (p) => {
          record.packets.push(p);
          this.answer(p, conn, socket);
        },
        { role: 'server' },
      );
      socket.on('data', (chunk: Buffer) => {
        try {
          decoder.push(chunk);
        } catch {
          socket.destroy();
        }
      });
      socket.on('error', () => undefined);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  close(): void {
    for (const c of this.connections) c.socket.destroy();
    this.server.close();
  }

  /** The PUBLISH and PUBREL packets of connection `n`, as `publish id dup` / `pubrel id`. */
  sent(n: number): string[] {
    return (this.connections[n]?.packets ?? []).flatMap((p) => (p.type === 'publish' ? [`publish ${p.payload} ${p.packetId} dup=${p.dup}`] : p.type === 'pubrel' ? [`pubrel ${p.packetId}`] : []));
  }
}

test('bridge 2: in-flight QoS 1 and 2 resume with the remote session after a reconnection: PUBLISH with DUP, PUBREL, each once', async (t) => {
  const send = (socket: net.Socket, packet: Packet): void => void socket.write(encode(packet, 5));
  const remote = new ScriptedRemote((p, conn, socket) => {
    if (p.type === 'connect') send(socket, { type: 'connack', sessionPresent: conn > 0, reasonCode: 0 });
    if (p.type === 'pingreq') send(socket, { type: 'pingresp' });
    if (conn === 0) {
      // The first link: QoS 2 gets its PUBREC, QoS 1 no PUBACK; once both are in, the link breaks.
      if (p.type === 'publish' && p.qos === 2) send(socket, { type: 'pubrec', packetId: p.packetId!, reasonCode: 0 });
      const c = remote.connections[0]!;
      if (c.packets.some((x) => x.type === 'pubrel') && c.packets.some((x) => x.type === 'publish' && x.qos === 1)) socket.destroy();
    } else {
      if (p.type === 'publish' && p.qos === 1) send(socket, { type: 'puback', packetId: p.packetId!, reasonCode: 0 });
      if (p.type === 'pubrel') send(socket, { type: 'pubcomp', packetId: p.packetId!, reasonCode: 0 });
    }
  });
  await remote.listen();
  t.after(() => remote.close());
  const { tb, bridge } = await bridgedStarling(
    t,
    `bridges:
  - name: scripted
    addresses: mqtt://127.0.0.1:${remote.port}
    clientId: edge-resume
    keepAlive: 60
    reconnectDelay: 20
    maxReconnectDelay: 50
    topics: |
      # out 2
`,
  );
  await linkUp(bridge);
  const publisher = await recorder(t, tb.url, { clientId: 'pub' });
  await publisher.client.publishAsync('two', 'q2', { qos: 2 });
  await publisher.client.publishAsync('one', 'q1', { qos: 1 });
  await until('resumed and acknowledged', () => bridge.status().reconnects === 1 && bridge.status().messagesOut === 2 && bridge.status().inflight === 0);
  const [first, second] = [remote.sent(0), remote.sent(1)];
  const id2 = /publish q2 (\d+)/.exec(first.join(' '))![1];
  const id1 = /publish q1 (\d+)/.exec(first.join(' '))![1];
  assert.deepEqual(first, [`publish q2 ${id2} dup=false`, `pubrel ${id2}`, `publish q1 ${id1} dup=false`]);
  // The second link: the PUBREL again (not the PUBLISH: the remote has it), the QoS 1 PUBLISH
  // again with DUP under its packet id; nothing else, and nothing more once acknowledged.
  assert.deepEqual(second, [`pubrel ${id2}`, `publish q1 ${id1} dup=true`]);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(remote.sent(1), second, 'no further resends');
  assert.equal(remote.connections.length, 2);
  assert.equal(bridge.status().resent, 2);
});

test("bridge 2: the remote's Receive Maximum is respected: a strict remote is not overrun", async (t) => {
  // Acknowledgements wait for the disk here, so unacknowledged messages pile up at the remote.
  const dataDir = mkdtempSync(join(tmpdir(), 'starling-bridge-rm-'));
  const central = await startBroker({ limits: { receiveMaximum: 3 }, store: createStore({ store: 'sqlite', dataDir, durability: 'strict', batchInterval: 50 }) });
  t.after(async () => {
    await central.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const { tb, bridge } = await bridgedStarling(
    t,
    `bridges:
  - name: strict
    addresses: mqtt://127.0.0.1:${central.port}
    clientId: edge-rm
    maxInflight: 50
    reconnectDelay: 20
    maxReconnectDelay: 50
    topics: |
      # out 1
`,
  );
  await linkUp(bridge);
  // A persistent subscriber: each message is written for it before the PUBACK.
  const there = await recorder(t, central.url, { clientId: 'there', clean: false, properties: { sessionExpiryInterval: 60 } }, { '#': { qos: 1 } });
  const publisher = await recorder(t, tb.url, { clientId: 'pub' });
  await Promise.all(Array.from({ length: 100 }, (_, i) => publisher.client.publishAsync('load', `m${i}`, { qos: 1 })));
  await until('all 100 at the remote', () => there.messages.length >= 100, 15_000);
  assert.equal(bridge.status().reconnects, 0, 'never closed for exceeding the Receive Maximum (0x93)');
  assert.deepEqual(there.messages.map((m) => m.payload), Array.from({ length: 100 }, (_, i) => `m${i}`));
});

test('bridge 2: QoS 2 in flight to the remote when Starling restarts is not delivered twice: sent again under the same packet id', async (t) => {
  const send = (socket: net.Socket, packet: Packet): void => void socket.write(encode(packet, 5));
  // A remote that delivers a QoS 2 message at its first PUBLISH and keeps its id until PUBREL
  // (as MQTT allows, [MQTT-4.3.3-10]); on the first connection it never completes the PUBREL.
  const delivered: string[] = [];
  const awaitingRelease = new Set<number>();
  const remote = new ScriptedRemote((p, conn, socket) => {
    if (p.type === 'connect') send(socket, { type: 'connack', sessionPresent: conn > 0, reasonCode: 0 });
    if (p.type === 'publish' && p.qos === 2) {
      if (!awaitingRelease.has(p.packetId!)) delivered.push(String(p.payload));
      awaitingRelease.add(p.packetId!);
      send(socket, { type: 'pubrec', packetId: p.packetId!, reasonCode: 0 });
    }
    if (p.type === 'pubrel' && conn > 0) {
      awaitingRelease.delete(p.packetId!);
      send(socket, { type: 'pubcomp', packetId: p.packetId!, reasonCode: 0 });
    }
  });
  await remote.listen();
  t.after(() => remote.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'starling-bridge-q2-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const persistence = { store: 'sqlite', dataDir, durability: 'strict', batchInterval: 50 } as const;
  const yaml = `bridges:
  - name: scripted
    addresses: mqtt://127.0.0.1:${remote.port}
    clientId: edge-q2
    reconnectDelay: 20
    maxReconnectDelay: 50
    topics: |
      # out 2
`;
  const a = await bridgedStarling(t, yaml, { store: createStore(persistence) });
  await linkUp(a.bridge);
  const publisher = await recorder(t, a.tb.url, { clientId: 'pub' });
  await publisher.client.publishAsync('two', 'q2', { qos: 2 });
  await until('PUBREL sent, not completed', () => remote.sent(0).some((s) => s.startsWith('pubrel')));
  await publisher.client.endAsync();
  await a.bridges.stop();
  await a.tb.close();

  const b = await bridgedStarling(t, yaml, { store: createStore(persistence) });
  await until('completed after the restart', () => b.bridge.status().messagesOut === 1 && awaitingRelease.size === 0);
  const id = /publish q2 (\d+)/.exec(remote.sent(0).join(' '))![1];
  assert.deepEqual(remote.sent(1), [`publish q2 ${id} dup=true`, `pubrel ${id}`], 'the same packet id, with DUP');
  assert.deepEqual(delivered, ['q2'], 'delivered once');
});
