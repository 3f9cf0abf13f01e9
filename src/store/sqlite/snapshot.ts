// Builds the Snapshot from the worker's column batches as they arrive, while the worker
// reads the next ones. Objects are made with one shape each (no conditional spreads): with a
// million deliveries, that is most of the time spent here.

import type { Message } from '../../message.js';
import type { Snapshot, StoredDelivery, StoredSession, StoredSubscription, StoredWill } from '../types.js';
import { blobs, type ColumnBatch, numbers, runs, smallInts, texts } from './columns.js';
import { propertiesFromJson } from './records.js';

type QoS = 0 | 1 | 2;

export class SnapshotBuilder {
  private readonly sessions = new Map<string, StoredSession>();
  private readonly messages = new Map<number, Message>();
  private readonly retained: Message[] = [];
  private readonly wills = new Map<string, StoredWill>();

  add(batch: ColumnBatch): void {
    switch (batch.table) {
      case 'sessions':
        return this.addSessions(batch);
      case 'subscriptions':
        return this.addSubscriptions(batch);
      case 'inbound':
        return this.addInbound(batch);
      case 'messages':
        return this.addMessages(batch);
      case 'deliveries':
        return this.addDeliveries(batch);
      case 'retained':
        return this.addRetained(batch);
      case 'wills':
        return this.addWills(batch);
    }
  }

  finish(): Snapshot {
    // Deliveries come in key order (client id, packet id); a session replays them by seq.
    for (const session of this.sessions.values()) {
      const d = session.deliveries;
      for (let i = 1; i < d.length; i++) {
        if (d[i - 1]!.seq > d[i]!.seq) {
          d.sort((a, b) => a.seq - b.seq);
          break;
        }
      }
    }
    return { sessions: [...this.sessions.values()], messages: this.messages, retained: this.retained, wills: this.wills };
  }

  private addSessions(b: ColumnBatch): void {
    const ids = texts(b, 0)!;
    const expiry = numbers(b, 1);
    const usernames = texts(b, 2);
    const disconnected = numbers(b, 3);
    for (let i = 0; i < b.rows; i++) {
      const clientId = ids[i]!;
      const session: { -readonly [K in keyof StoredSession]: StoredSession[K] } = {
        clientId,
        expiryInterval: expiry[i]!,
        subscriptions: [],
        inboundQos2: [],
        deliveries: [],
      };
      const username = usernames?.[i];
      if (username !== undefined && username !== null) session.username = username;
      if (!Number.isNaN(disconnected[i])) session.disconnectedAt = disconnected[i]!;
      this.sessions.set(clientId, session);
    }
  }

  private addSubscriptions(b: ColumnBatch): void {
    const owners = runs(b, 0);
    const filters = texts(b, 1)!;
    const qos = smallInts(b, 2);
    const noLocal = smallInts(b, 3);
    const rap = smallInts(b, 4);
    const rh = smallInts(b, 5);
    const subIds = numbers(b, 6);
    let i = 0;
    for (let r = 0; r < owners.values.length; r++) {
      const session = this.sessions.get(owners.values[r]!);
      const end = i + owners.lengths[r]!;
      for (; i < end; i++) {
        if (session === undefined) continue;
        const sub: StoredSubscription = Number.isNaN(subIds[i])
          ? { filter: filters[i]!, qos: qos[i] as QoS, noLocal: noLocal[i] === 1, retainAsPublished: rap[i] === 1, retainHandling: rh[i] as QoS }
          : {
              filter: filters[i]!,
              qos: qos[i] as QoS,
              noLocal: noLocal[i] === 1,
              retainAsPublished: rap[i] === 1,
              retainHandling: rh[i] as QoS,
              subscriptionId: subIds[i]!,
            };
        session.subscriptions.push(sub);
      }
    }
  }

  private addInbound(b: ColumnBatch): void {
    const owners = runs(b, 0);
    const packetIds = numbers(b, 1);
    let i = 0;
    for (let r = 0; r < owners.values.length; r++) {
      const session = this.sessions.get(owners.values[r]!);
      const end = i + owners.lengths[r]!;
      for (; i < end; i++) session?.inboundQos2.push(packetIds[i]!);
    }
  }

  private addMessages(b: ColumnBatch): void {
    const ids = numbers(b, 0);
    const topics = texts(b, 1)!;
    const payload = blobs(b, 2);
    const qos = smallInts(b, 3);
    const retain = smallInts(b, 4);
    const props = texts(b, 5);
    const expires = numbers(b, 6);
    const origins = texts(b, 7);
    for (let i = 0; i < b.rows; i++) {
      this.messages.set(ids[i]!, message(topics[i]!, payload(i), qos[i] as QoS, retain[i] === 1, props?.[i] ?? null, expires[i]!, origins?.[i] ?? null));
    }
  }

  private addDeliveries(b: ColumnBatch): void {
    const owners = runs(b, 0);
    const packetIds = numbers(b, 1);
    const seqs = numbers(b, 2);
    const messageIds = numbers(b, 3);
    const qos = smallInts(b, 4);
    const retain = smallInts(b, 5);
    const subIds = texts(b, 6);
    const states = smallInts(b, 7);
    let i = 0;
    for (let r = 0; r < owners.values.length; r++) {
      const deliveries = this.sessions.get(owners.values[r]!)?.deliveries;
      const end = i + owners.lengths[r]!;
      for (; i < end; i++) {
        if (deliveries === undefined) continue;
        const ids = subIds?.[i] ?? null;
        const state = states[i] === 1 ? 'pubrel' : 'publish';
        const d: StoredDelivery =
          ids === null
            ? { seq: seqs[i]!, packetId: packetIds[i]!, messageId: messageIds[i]!, qos: qos[i] as QoS, retain: retain[i] === 1, state }
            : {
                seq: seqs[i]!,
                packetId: packetIds[i]!,
                messageId: messageIds[i]!,
                qos: qos[i] as QoS,
                retain: retain[i] === 1,
                subscriptionIds: ids.split(',').map(Number),
                state,
              };
        deliveries.push(d);
      }
    }
  }

  private addRetained(b: ColumnBatch): void {
    const topics = texts(b, 0)!;
    const payload = blobs(b, 1);
    const qos = smallInts(b, 2);
    const props = texts(b, 3);
    const expires = numbers(b, 4);
    const origins = texts(b, 5);
    for (let i = 0; i < b.rows; i++) {
      // Retained payloads live as long as the topic keeps them: a copy each, so one old
      // retained message does not keep its whole batch in memory.
      this.retained.push(message(topics[i]!, Buffer.from(payload(i)), qos[i] as QoS, true, props?.[i] ?? null, expires[i]!, origins?.[i] ?? null));
    }
  }

  private addWills(b: ColumnBatch): void {
    const ids = texts(b, 0)!;
    const topics = texts(b, 1)!;
    const payload = blobs(b, 2);
    const qos = smallInts(b, 3);
    const retain = smallInts(b, 4);
    const props = texts(b, 5);
    const delays = numbers(b, 6);
    const usernames = texts(b, 7);
    const protocols = smallInts(b, 8);
    const origins = texts(b, 9);
    for (let i = 0; i < b.rows; i++) {
      const username = usernames?.[i] ?? null;
      this.wills.set(ids[i]!, {
        message: message(topics[i]!, Buffer.from(payload(i)), qos[i] as QoS, retain[i] === 1, props?.[i] ?? null, NaN, origins?.[i] ?? null),
        delay: delays[i]!,
        ...(username !== null && { username }),
        protocolVersion: protocols[i] as 3 | 4 | 5,
      });
    }
  }
}

/** `expiresAt` NaN: none. */
function message(topic: string, payload: Buffer, qos: QoS, retain: boolean, props: string | null, expiresAt: number, origin: string | null): Message {
  if (props === null && Number.isNaN(expiresAt) && origin === null) return { topic, payload, qos, retain };
  const properties = propertiesFromJson(props);
  return {
    topic,
    payload,
    qos,
    retain,
    ...(properties !== undefined && { properties }),
    ...(!Number.isNaN(expiresAt) && { expiresAt }),
    ...(origin !== null && { origin }),
  };
}
