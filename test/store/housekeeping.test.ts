// Housekeeping of the durable store: what expires leaves the SQLite file, the file stops
// growing under a steady workload, and a damaged data directory stops start-up with advice
// instead of starting empty over it.

import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore, STORE_FILE } from '../../src/index.js';
import { delay, RawClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { run } from '../helpers/tools.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'starling-housekeeping-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `data-${++dirs}`);

/** Rows per table, read from the file while no broker holds it. */
function rows(dir: string): Record<'sessions' | 'subscriptions' | 'deliveries' | 'messages', number> {
  const db = new Database(join(dir, STORE_FILE), { readonly: true });
  const count = (table: string): number => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  const result = { sessions: count('sessions'), subscriptions: count('subscriptions'), deliveries: count('deliveries'), messages: count('messages') };
  db.close();
  return result;
}

async function broker(dir: string): Promise<TestBroker> {
  return startBroker({ store: new SqliteStore({ dir }) });
}

async function subscribe(b: TestBroker, clientId: string, sessionExpiryInterval: number): Promise<void> {
  const sub = await RawClient.connect(b.port, { clientId, clean: true, properties: { sessionExpiryInterval } });
  sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'hk/#', qos: 1 }] });
  await sub.expect('suback');
  sub.send({ type: 'disconnect', reasonCode: 0 });
  await sub.closedByServer();
}

/** Publishes QoS 1 messages; `expiring` ones with a Message Expiry Interval of 1 s. */
async function publish(b: TestBroker, messages: Array<{ topic: string; expiring: boolean }>): Promise<void> {
  const pub = await RawClient.connect(b.port, { clientId: 'hk-pub' });
  let packetId = 0;
  for (const m of messages) {
    pub.send({
      type: 'publish',
      topic: m.topic,
      payload: Buffer.from(m.topic),
      qos: 1,
      retain: false,
      dup: false,
      packetId: ++packetId,
      ...(m.expiring && { properties: { messageExpiryInterval: 1 } }),
    });
    await pub.expect('puback');
  }
  pub.destroy();
}

/**
 * Reconnects the persistent subscriber and acknowledges what it is sent: the `expected`
 * messages, and anything else that comes within 300 ms after them. Returns the topics.
 */
async function drain(b: TestBroker, clientId: string, expected: number): Promise<string[]> {
  const sub = await RawClient.connect(b.port, { clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });
  const topics: string[] = [];
  for (;;) {
    const p = topics.length < expected ? await sub.next(10_000) : await sub.next(300).catch(() => undefined);
    if (p === undefined) break;
    if (p.type !== 'publish') continue;
    topics.push(p.topic);
    sub.send({ type: 'puback', packetId: p.packetId! });
  }
  sub.send({ type: 'disconnect', reasonCode: 0 });
  await sub.closedByServer();
  return topics;
}

describe('expired messages and sessions leave the SQLite file', () => {
  test('a message that expired in an offline session\'s queue is not delivered and its records are deleted when the subscriber returns [MQTT-3.3.2-5]', async () => {
    const dir = freshDir();
    const b = await broker(dir);
    await subscribe(b, 'hk-offline', 3600);
    await publish(b, [
      { topic: 'hk/expires', expiring: true },
      { topic: 'hk/stays', expiring: false },
    ]);
    await delay(1100);
    assert.deepEqual(await drain(b, 'hk-offline', 1), ['hk/stays']);
    await b.close();
    assert.deepEqual(rows(dir), { sessions: 1, subscriptions: 1, deliveries: 0, messages: 0 });
  });

  test('a message that expired while the broker was down is not delivered after the restart, and its records are deleted', async () => {
    const dir = freshDir();
    const first = await broker(dir);
    await subscribe(first, 'hk-restart', 3600);
    await publish(first, [
      { topic: 'hk/expires', expiring: true },
      { topic: 'hk/stays', expiring: false },
    ]);
    await first.close();
    assert.deepEqual(rows(dir), { sessions: 1, subscriptions: 1, deliveries: 2, messages: 2 });
    await delay(1100);
    const second = await broker(dir);
    assert.deepEqual(await drain(second, 'hk-restart', 1), ['hk/stays']);
    await second.close();
    assert.deepEqual(rows(dir), { sessions: 1, subscriptions: 1, deliveries: 0, messages: 0 });
  });

  test('an expired session takes its subscriptions, its queue and the messages only it held out of the file', async () => {
    const dir = freshDir();
    const b = await broker(dir);
    await subscribe(b, 'hk-short', 1);
    await subscribe(b, 'hk-long', 3600);
    await publish(b, [{ topic: 'hk/both', expiring: false }]);
    await publish(b, [{ topic: 'hk/both-2', expiring: false }]);
    await delay(1300);
    assert.equal(b.broker.sessions.has('hk-short'), false);
    await b.close();
    // hk-long still holds both messages; hk-short's deliveries and its session are gone.
    assert.deepEqual(rows(dir), { sessions: 1, subscriptions: 1, deliveries: 2, messages: 2 });
    const again = await broker(dir);
    assert.deepEqual(await drain(again, 'hk-long', 2), ['hk/both', 'hk/both-2']);
    await again.close();
    assert.deepEqual(rows(dir), { sessions: 1, subscriptions: 1, deliveries: 0, messages: 0 });
  });

  test('a session that expired while the broker was down is deleted from the file at start-up', async () => {
    const dir = freshDir();
    const first = await broker(dir);
    await subscribe(first, 'hk-down', 1);
    await publish(first, [{ topic: 'hk/queued', expiring: false }]);
    await first.close();
    assert.deepEqual(rows(dir), { sessions: 1, subscriptions: 1, deliveries: 1, messages: 1 });
    await delay(1100);
    const second = await broker(dir);
    await delay(50); // the expiry runs on a timer of 0 ms after start-up
    await second.close();
    assert.deepEqual(rows(dir), { sessions: 0, subscriptions: 0, deliveries: 0, messages: 0 });
  });
});

test('the store file stops growing under a steady workload: freed pages are reused and the WAL is recycled', async (t) => {
  const dir = freshDir();
  const store = new SqliteStore({ dir });
  await store.open();
  store.putSession({ clientId: 'steady', expiryInterval: 3600 });
  await store.flush();
  const payload = Buffer.alloc(1024, 7);
  const sizes: number[] = [];
  let id = 0;
  // Each round queues 2,000 messages of 1 KB for a session and then delivers them all, in
  // commits of 100 records, as a busy broker's group commits would.
  for (let round = 0; round < 12; round++) {
    const first = id + 1;
    for (let i = 0; i < 2000; i++) {
      id++;
      store.putMessage(id, { topic: `steady/${i}`, payload, qos: 1, retain: false });
      store.putDelivery('steady', { seq: id, packetId: (id % 65535) + 1, messageId: id, qos: 1, retain: false, state: 'publish' });
      if (i % 50 === 49) await store.flush();
    }
    for (let m = first; m <= id; m++) {
      store.deleteDelivery('steady', (m % 65535) + 1);
      store.deleteMessage(m);
      if (m % 50 === 0) await store.flush();
    }
    await store.flush();
    const wal = join(dir, `${STORE_FILE}-wal`);
    sizes.push(statSync(join(dir, STORE_FILE)).size + (existsSync(wal) ? statSync(wal).size : 0));
  }
  await store.close();
  const early = Math.max(...sizes.slice(0, 4));
  const late = Math.max(...sizes.slice(4));
  t.diagnostic(`starling.db + WAL after each round, KB: ${sizes.map((n) => Math.round(n / 1024)).join(', ')}`);
  assert.ok(late <= early * 1.1, `the files grew from ${early} to ${late} bytes over rounds of the same work: ${sizes.join(', ')}`);
});

describe('a damaged data directory stops start-up, names the problem and how to recover, and is left as it was', () => {
  /** Runs the CLI on `dir`: it must exit 1 without listening, and leave the file untouched. */
  async function refuses(dir: string): Promise<string> {
    const file = join(dir, STORE_FILE);
    const before = createHash('sha256').update(readFileSync(file)).digest('hex');
    const exit = await run(process.execPath, [CLI, '--port', '0', '--set', `persistence.dataDir=${dir}`], { timeoutMs: 30_000 });
    assert.equal(exit.code, 1, `exit ${exit.code} ${exit.signal}; stdout: ${exit.stdout} stderr: ${exit.stderr}`);
    assert.doesNotMatch(exit.stdout, /listening on/);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), before, 'the damaged file was changed');
    return exit.stderr;
  }

  test('a file of garbage: "is damaged and was not opened", with the recovery steps', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, STORE_FILE), Buffer.from('this is not an SQLite database, it is garbage '.repeat(500)));
    const stderr = await refuses(dir);
    assert.match(stderr, new RegExp(`${STORE_FILE} is damaged and was not opened`));
    assert.match(stderr, /not a database/);
    assert.match(stderr, /does not start over data it cannot read/);
    assert.match(stderr, /\.recover/);
    assert.match(stderr, /move the directory aside to start with an empty store/);
  });

  test('a valid file with overwritten pages: the integrity check fails at start-up, not later', async () => {
    const dir = freshDir();
    const store = new SqliteStore({ dir });
    await store.open();
    const payload = Buffer.alloc(512, 1);
    store.putSession({ clientId: 'damaged', expiryInterval: 3600 });
    for (let i = 1; i <= 3000; i++) {
      store.putMessage(i, { topic: `damaged/${i}`, payload, qos: 1, retain: false });
      store.putDelivery('damaged', { seq: i, packetId: i, messageId: i, qos: 1, retain: false, state: 'publish' });
    }
    await store.flush();
    await store.close();
    const file = join(dir, STORE_FILE);
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    const pages = bytes.length / pageSize;
    assert.ok(pages > 20);
    // Garbage over a few pages in the middle of the file, as a bad disk block would leave.
    bytes.fill(0xa5, Math.floor(pages / 2) * pageSize, (Math.floor(pages / 2) + 3) * pageSize);
    writeFileSync(file, bytes);
    const stderr = await refuses(dir);
    assert.match(stderr, /is damaged and was not opened \(CORRUPT: the integrity check failed/);
    assert.match(stderr, /\.recover/);
  });

  test('the journal without the database file: the data is incomplete', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, `${STORE_FILE}-wal`), Buffer.alloc(4096, 1));
    const exit = await run(process.execPath, [CLI, '--port', '0', '--set', `persistence.dataDir=${dir}`], { timeoutMs: 30_000 });
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /journal but not starling\.db itself: the data is incomplete/);
    assert.equal(existsSync(join(dir, STORE_FILE)), false, 'an empty store was created');
  });
});
