// The memory store: the store interface over Maps. Nothing survives the process, but a
// broker closed and started again with the same MemoryStore gets its state back, which is
// what an embedding program (and the shared behaviour tests) rely on. Every write is
// durable as soon as it is made, so flush() never makes anyone wait.

import type { Message } from '../../message.js';
import type {
  Snapshot,
  Store,
  StoredDelivery,
  StoredSession,
  StoredSessionState,
  StoredSubscription,
  StoredWill,
} from '../types.js';

interface SessionRecord {
  state: StoredSessionState;
  subscriptions: Map<string, StoredSubscription>;
  inbound: Set<number>;
  deliveries: Map<number, StoredDelivery>;
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly messages = new Map<number, Message>();
  private readonly retained = new Map<string, Message>();
  private readonly wills = new Map<string, StoredWill>();

  async open(): Promise<Snapshot> {
    const sessions: StoredSession[] = [];
    for (const r of this.sessions.values()) {
      sessions.push({
        ...r.state,
        subscriptions: [...r.subscriptions.values()],
        inboundQos2: [...r.inbound],
        deliveries: [...r.deliveries.values()].sort((a, b) => a.seq - b.seq),
      });
    }
    return { sessions, messages: new Map(this.messages), retained: [...this.retained.values()], wills: new Map(this.wills) };
  }

  putSession(state: StoredSessionState): void {
    const r = this.sessions.get(state.clientId);
    if (r !== undefined) r.state = state;
    else this.sessions.set(state.clientId, { state, subscriptions: new Map(), inbound: new Set(), deliveries: new Map() });
  }

  deleteSession(clientId: string): void {
    this.sessions.delete(clientId);
  }

  putSubscription(clientId: string, sub: StoredSubscription): void {
    this.sessions.get(clientId)?.subscriptions.set(sub.filter, sub);
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.sessions.get(clientId)?.subscriptions.delete(filter);
  }

  putInbound(clientId: string, packetId: number): void {
    this.sessions.get(clientId)?.inbound.add(packetId);
  }

  deleteInbound(clientId: string, packetId: number): void {
    this.sessions.get(clientId)?.inbound.delete(packetId);
  }

  putMessage(id: number, message: Message): void {
    this.messages.set(id, message);
  }

  deleteMessage(id: number): void {
    this.messages.delete(id);
  }

  putDelivery(clientId: string, delivery: StoredDelivery): void {
    this.sessions.get(clientId)?.deliveries.set(delivery.packetId, delivery);
  }

  releaseDelivery(clientId: string, packetId: number): void {
    const deliveries = this.sessions.get(clientId)?.deliveries;
    const d = deliveries?.get(packetId);
    if (d !== undefined) deliveries!.set(packetId, { ...d, state: 'pubrel' });
  }

  deleteDelivery(clientId: string, packetId: number): void {
    this.sessions.get(clientId)?.deliveries.delete(packetId);
  }

  putRetained(message: Message): void {
    this.retained.set(message.topic, message);
  }

  deleteRetained(topic: string): void {
    this.retained.delete(topic);
  }

  putWill(clientId: string, will: StoredWill): void {
    this.wills.set(clientId, will);
  }

  deleteWill(clientId: string): void {
    this.wills.delete(clientId);
  }

  flush(): undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}
