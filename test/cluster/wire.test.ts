import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterKeys, decodeMessage, encodeMessage, messageBound, writeMessage, WireError } from '../../src/cluster/wire.js';
import type { Message } from '../../src/message.js';

test('cluster wire: a message survives encode and decode with every optional part', () => {
  const full: Message = {
    topic: 'a/ü/c',
    payload: Buffer.from([0, 1, 2, 255]),
    qos: 2,
    retain: true,
    expiresAt: 1_800_000_000_123,
    origin: 'dev-1',
    properties: { contentType: 'bin', correlationData: Buffer.from('xyz'), userProperties: [['k', 'v1'], ['k', 'v2']], payloadFormatIndicator: 0 },
  };
  assert.deepEqual(decodeMessage(encodeMessage(full)), full);
  const bare: Message = { topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false };
  assert.deepEqual(decodeMessage(encodeMessage(bare)), bare);
});

test('cluster wire: truncated, unknown-version and QoS 3 records are refused with WireError', () => {
  const b = encodeMessage({ topic: 'topic/name', payload: Buffer.from('p'), qos: 1, retain: false, origin: 'c' });
  assert.throws(() => decodeMessage(b.subarray(0, 3)), WireError);
  assert.throws(() => decodeMessage(b.subarray(0, 8)), WireError);
  const v2 = Buffer.from(b);
  v2[0] = 2;
  assert.throws(() => decodeMessage(v2), /version 2/);
  const q3 = Buffer.from(b);
  q3[1] = q3[1]! | 3;
  assert.throws(() => decodeMessage(q3), /QoS 3/);
});

test('cluster wire: per-client keys share a Redis Cluster hash slot', () => {
  const k = new ClusterKeys('x:');
  assert.equal(k.owner('c1'), 'x:owner:{c1}');
  assert.equal(k.session('c1'), 'x:session:{c1}');
});

test('cluster wire: writeMessage (the forwarding path, in place) writes the bytes encodeMessage makes, within messageBound; a shared decode keeps only a QoS 0 unretained payload as a view', () => {
  const cases: Message[] = [
    { topic: 'a/ü/c', payload: Buffer.from([0, 1, 2, 255]), qos: 1, retain: true, expiresAt: 1_800_000_000_123, origin: 'dév-1' },
    { topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false },
    { topic: '日本/語', payload: Buffer.alloc(300, 7), qos: 2, retain: false, origin: 'c' },
  ];
  for (const m of cases) {
    const b = Buffer.alloc(messageBound(m) + 10, 0xee);
    const end = writeMessage(b, 5, m);
    assert.ok(end - 5 <= messageBound(m));
    assert.deepEqual(b.subarray(5, end), encodeMessage(m));
    // Read back in place, from its range of the larger buffer; a range cut short is refused.
    assert.deepEqual(decodeMessage(b, false, 5, end), m);
    if (m.origin !== undefined) assert.throws(() => decodeMessage(b, false, 5, 5 + 4 + Buffer.byteLength(m.topic) + 1), WireError);
  }
  // A view changes with the frame's bytes; a copy does not.
  const viewOf = (qos: 0 | 1, retain: boolean, share: boolean): boolean => {
    const frame = encodeMessage({ topic: 'x', payload: Buffer.from('abc'), qos, retain });
    const m = decodeMessage(frame, share);
    frame[frame.length - 1] = 0x21;
    return m.payload.toString() === 'ab!';
  };
  assert.equal(viewOf(0, false, true), true, 'QoS 0: a view of the frame');
  assert.equal(viewOf(0, true, true), false, 'retained: a copy');
  assert.equal(viewOf(1, false, true), false, 'QoS 1: a copy');
  assert.equal(viewOf(0, false, false), false, 'not shared: a copy');
});

test('cluster wire: forward frames: one record per node (written once, copied for the next node), group records with their key, 5.0 properties, pings last', async () => {
  const { ClusterRouter } = await import('../../src/cluster/router.js');
  const { LocalRouter } = await import('../../src/broker/router.js');
  const frames: Array<[string, Buffer]> = [];
  // A window small enough for these frames to carry a ping (one per eighth of it).
  const r = new ClusterRouter(new LocalRouter(), 'a', {}, 100, 16 * 1024);
  r.sink = { connected: true, sendVolatile: (node, frame) => void frames.push([node, Buffer.from(frame)]), sendDurable: async () => undefined, announce: () => {} };
  r.replaceRoutes('b', 1, ['t/#', '$share/g/t/+']);
  r.replaceRoutes('c', 1, ['t/+']);
  const plain: Message = { topic: 't/1', payload: Buffer.from('one'), qos: 0, retain: false, origin: 'p' };
  const props: Message = { topic: 't/2', payload: Buffer.alloc(2000, 1), qos: 0, retain: false, origin: 'p', properties: { contentType: 'x', userProperties: [['k', 'v']] } };
  for (let i = 0; i < 50; i++) r.publish(plain); // grows the frame past its first size
  r.publish(props);
  r.flush();
  const parse = (f: Buffer): Array<{ kind: number; key: string; message?: Message }> => {
    let o = 2 + f.readUInt16BE(0);
    assert.equal(f.toString('utf8', 2, o), 'a');
    const out = [];
    while (o < f.length) {
      const kind = f[o]!;
      const k = f.readUInt16BE(o + 1);
      const key = f.toString('utf8', o + 3, o + 3 + k);
      const len = f.readUInt32BE(o + 3 + k);
      o += 7 + k;
      out.push({ kind, key, ...(len > 0 && { message: decodeMessage(f.subarray(o, o + len)) }) });
      o += len;
    }
    return out;
  };
  const byNode = new Map(frames.map(([n, f]) => [n, parse(f)]));
  const b = byNode.get('b')!;
  const c = byNode.get('c')!;
  assert.equal(frames.length, 2);
  // b: each message to its subscribers and to its group; c: to its subscribers; then a ping each.
  assert.equal(b.length, 2 * 51 + 1);
  assert.equal(c.length, 51 + 1);
  assert.deepEqual(b[0], { kind: 0, key: '', message: plain });
  assert.deepEqual(b[1], { kind: 1, key: '$share/g/t/+', message: plain });
  assert.deepEqual(b[101], { kind: 1, key: '$share/g/t/+', message: props });
  assert.deepEqual(c[50], { kind: 0, key: '', message: props });
  assert.equal(b.at(-1)!.kind, 2);
  assert.equal(c.at(-1)!.kind, 2);
});
