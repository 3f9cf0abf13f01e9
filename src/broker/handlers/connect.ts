// CONNECT (section 3.1) and the CONNACK that answers it (3.2): client identifier rules,
// authentication (password hooks or 5.0 enhanced authentication), session takeover and
// resumption, and what the CONNACK advertises.

import { randomBytes } from 'node:crypto';
import type { ConnackProperties, ConnectPacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';
import type { Session } from '../session.js';
import { isPromise } from '../hooks.js';
import { OutboundAliases } from '../flow.js';
import type { AuthStep, Verdict } from '../types.js';
import { detachWill, willDelay, willMessage } from '../will.js';
import { encode } from '../../codec/encoder.js';

/**
 * The 3.1/3.1.1 CONNACK that accepts a connection, without and with Session Present: two
 * fixed packets that every connection shares (a socket never writes into what it is given),
 * instead of one encoded per connection in a reconnect storm.
 */
const ACCEPTED_V4 = [encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, 4), encode({ type: 'connack', sessionPresent: true, reasonCode: 0 }, 4)] as const;

export function handleConnect(conn: Connection, p: ConnectPacket): void | Promise<void> {
  const broker = conn.broker;
  const v5 = p.protocolVersion === 5;
  conn.state = 'connecting';
  // The CONNECT is kept until the CONNACK; what outlives it is copied out now.
  conn.connect = p;
  if (p.will !== undefined) conn.will = detachWill(p.will);
  if (p.protocolVersion === 5) conn.requestedExpiry = p.properties?.sessionExpiryInterval ?? 0;
  conn.protocolVersion = p.protocolVersion;
  conn.bridge = p.bridge === true;
  conn.keepalive = p.keepalive;
  // A TLS client certificate's identity wins over the user name the CONNECT claims.
  conn.username = conn.peer?.certificateUsername ?? p.username;

  // Client identifier [MQTT-3.1.3-6], [MQTT-3.1.3-7], [MQTT-3.1.3-8].
  let clientId = p.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    if (p.protocolVersion === 3 || (p.protocolVersion === 4 && !p.clean)) {
      return conn.connackAndClose(0x85, p.protocolVersion);
    }
    clientId = `auto-${randomBytes(9).toString('base64url')}`;
    assigned = v5;
  } else if (p.protocolVersion === 3 && clientId.length > 23) {
    // MQTT 3.1 allows identifiers of 1 to 23 characters.
    return conn.connackAndClose(0x85, 3);
  }
  conn.id = clientId;

  // A will the broker could not publish as asked is refused: Will QoS above the Maximum QoS
  // [MQTT-3.2.2-12] (0x9B), Will Retain when retained messages are off [MQTT-3.2.2-13] (0x9A).
  // 3.1/3.1.1 have no return code for either: close without a CONNACK (3.1.1 [MQTT-3.2.2-6]).
  const will = p.will;
  if (will !== undefined) {
    const refusal = will.qos > (broker.options.maximumQoS ?? 2) ? 0x9b : will.retain && broker.options.retainAvailable === false ? 0x9a : 0;
    if (refusal !== 0) return v5 ? conn.connackAndClose(refusal, 5) : conn.close(`will not supported (0x${refusal.toString(16)})`);
  }

  // Connect rate per source, connections per listener and in all (0x9F, 0x89).
  const refusal = broker.admission.check(conn, clientId);
  if (refusal !== 0) return conn.connackAndClose(refusal, p.protocolVersion);

  const limits = broker.limits;

  if (v5) {
    const props = p.properties;
    conn.sendWindow = Math.min(props?.receiveMaximum ?? 65_535, limits.maxInflight);
    if (props?.maximumPacketSize !== undefined) conn.maxOutboundPacket = props.maximumPacketSize;
    if (props?.topicAliasMaximum) conn.aliasesOut = new OutboundAliases(props.topicAliasMaximum);
    if (props?.authenticationMethod !== undefined) {
      conn.auth = { method: props.authenticationMethod, step: 0, state: {}, onSuccess: (data) => accept(conn, assigned, data) };
      return enhancedStep(conn, props.authenticationData);
    }
  } else {
    conn.sendWindow = limits.maxInflight;
  }

  const verdict = authenticate(conn, p);
  const then = (v: Verdict): void | Promise<void> => {
    if (conn.state === 'closed') return;
    if (!v.ok) {
      broker.countLimit('auth_failure');
      broker.log.warn({ clientId, remote: conn.remoteAddress, username: conn.username, reasonCode: v.reasonCode }, 'authentication failed');
      return conn.connackAndClose(v.reasonCode, p.protocolVersion);
    }
    return accept(conn, assigned, undefined);
  };
  return isPromise(verdict) ? verdict.then(then) : then(verdict);
}

/** Password authentication: the hooks decide; with none, the listener's anonymous policy. */
function authenticate(conn: Connection, p: ConnectPacket): Verdict | Promise<Verdict> {
  const broker = conn.broker;
  if (broker.hooks.authenticators.length === 0) {
    // A certificate the listener's CA verified vouches for the client (Mosquitto's
    // use_identity_as_username does the same).
    if (conn.peer?.certificateUsername !== undefined) return { ok: true };
    return conn.listenerInfo.allowAnonymous ? { ok: true } : { ok: false, reasonCode: conn.username === undefined ? 0x87 : 0x86 };
  }
  return broker.hooks.authenticate({
    clientId: conn.id,
    username: conn.username,
    password: p.password,
    remoteAddress: conn.remoteAddress,
    listener: conn.listenerInfo,
    connect: p,
    ...(conn.peer && { peer: conn.peer }),
  });
}

/**
 * One step of 5.0 enhanced authentication (section 4.12). `done` runs when the method's
 * hook accepts (`conn.auth.onSuccess`); AUTH 0x18 goes to the client while it wants more; an unknown method is 0x8C.
 */
export function enhancedStep(conn: Connection, data: Buffer | undefined): void | Promise<void> {
  const auth = conn.auth!;
  const step = conn.broker.hooks.enhancedAuth({
    clientId: conn.id,
    method: auth.method,
    data,
    step: auth.step++,
    state: auth.state,
    username: conn.username,
    remoteAddress: conn.remoteAddress,
  });
  const then = (r: AuthStep | undefined): void | Promise<void> => {
    if (conn.state === 'closed') return;
    const reconnecting = conn.state === 'connected';
    if (r === undefined) {
      return reconnecting ? conn.disconnect(0x8c, 'bad authentication method') : conn.connackAndClose(0x8c, 5);
    }
    if (!r.done) {
      conn.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: auth.method, ...(r.data && { authenticationData: r.data }) } });
      return;
    }
    if (!r.ok) {
      conn.broker.countLimit('auth_failure');
      conn.broker.log.warn({ clientId: conn.id, method: auth.method }, 'enhanced authentication failed');
      return reconnecting ? conn.disconnect(r.reasonCode, 'authentication failed') : conn.connackAndClose(r.reasonCode, 5);
    }
    if (r.username !== undefined) conn.username = r.username;
    return auth.onSuccess(r.data);
  };
  return isPromise(step) ? step.then(then) : then(step);
}

/**
 * The connection is accepted: the registry opens its session (new, resumed or taken over),
 * the session and the will are recorded in the store, and once that is durable CONNACK goes
 * out and deliveries resume.
 */
function accept(conn: Connection, assignedId: boolean, authData: Buffer | undefined): void | Promise<void> {
  const acquire = conn.broker.sessions.acquire;
  if (acquire === undefined) return open(conn, assignedId, authData);
  // A cluster takes the client id for this node first (src/cluster/sessions.ts); one it
  // cannot get in time is refused: 0x89 Server busy (3.1.1: 0x03 Server unavailable), or
  // with the code the cluster gives (a fenced member: 0x9C Use another server).
  const version = conn.connect!.protocolVersion;
  return acquire(conn.id, conn.connect!.clean, () => (conn.state === 'closed' ? undefined : open(conn, assignedId, authData))).then(() => {}, (err: unknown) => {
    conn.broker.log.warn({ clientId: conn.id, remote: conn.remoteAddress, err: (err as Error).message }, 'CONNECT refused: the cluster could not hand the client id over');
    if (conn.state !== 'closed') conn.connackAndClose((err as { reasonCode?: number }).reasonCode ?? 0x89, version);
  });
}

function open(conn: Connection, assignedId: boolean, authData: Buffer | undefined): void | Promise<void> {
  const broker = conn.broker;
  const p = conn.connect!;
  const requested = p.protocolVersion === 5 ? (p.properties?.sessionExpiryInterval ?? 0) : p.clean ? 0 : 0xffffffff;
  const opened = broker.sessions.open(conn, { clean: p.clean, expiryInterval: Math.min(requested, broker.limits.maxSessionExpiry) });
  if (!opened.ok) {
    broker.log.info({ clientId: conn.id, remote: conn.remoteAddress, username: conn.username }, `CONNECT refused: ${opened.reason}`);
    return conn.connackAndClose(opened.reasonCode, p.protocolVersion);
  }
  const { session, present } = opened;
  conn.session = session;
  conn.state = 'connected';
  const persistence = broker.persistence;
  if (persistence !== undefined) {
    persistence.connected(conn, willMessage(conn), willDelay(conn));
    const durable = persistence.flush();
    if (durable !== undefined) {
      return durable.then(() => {
        if (conn.state === 'connected') connack(conn, session, present, requested, assignedId, authData);
      });
    }
  }
  connack(conn, session, present, requested, assignedId, authData);
}

function connack(conn: Connection, session: Session, sessionPresent: boolean, requested: number, assignedId: boolean, authData: Buffer | undefined): void {
  const broker = conn.broker;
  const p = conn.connect!;
  const limits = broker.limits;
  const clientId = conn.id;

  const connack = { type: 'connack' as const, sessionPresent, reasonCode: 0 };
  if (p.protocolVersion === 5) {
    const props: ConnackProperties = {
      receiveMaximum: limits.receiveMaximum,
      maximumPacketSize: limits.maxPacketSize,
      topicAliasMaximum: limits.topicAliasMaximum,
      retainAvailable: broker.options.retainAvailable !== false,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    };
    if ((broker.options.maximumQoS ?? 2) < 2) props.maximumQoS = broker.options.maximumQoS as 0 | 1;
    if (assignedId) props.assignedClientIdentifier = clientId; // [MQTT-3.2.2-16]
    if (session.expiryInterval !== requested) props.sessionExpiryInterval = session.expiryInterval;
    if (limits.maxKeepAlive > 0 && (p.keepalive === 0 || p.keepalive > limits.maxKeepAlive)) {
      // [MQTT-3.2.2-21] the client must use the Server Keep Alive instead of its own.
      conn.keepalive = limits.maxKeepAlive;
      props.serverKeepAlive = limits.maxKeepAlive;
    }
    if (conn.auth) {
      props.authenticationMethod = conn.auth.method;
      if (authData) props.authenticationData = authData;
    }
    conn.send({ ...connack, properties: props });
  } else {
    // 3.1's CONNACK has no Session Present flag (the encoder leaves it out too).
    conn.write(ACCEPTED_V4[sessionPresent && p.protocolVersion === 4 ? 1 : 0]);
  }
  broker.log.info(
    { clientId, remote: conn.remoteAddress, listener: conn.listener, protocolVersion: p.protocolVersion, username: conn.username, clean: p.clean, keepalive: conn.keepalive, sessionPresent },
    'client connected',
  );
  // [MQTT-4.4.0-1] unacknowledged messages are sent again, after the CONNACK.
  session.resume(conn);
  broker.joined(conn);
  // Connected: the CONNECT (password, user name, properties) is not kept any longer.
  conn.connect = undefined;
}
