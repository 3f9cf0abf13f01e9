// The configuration schema: every key Starling reads, as data. It is the single source for
// validation (validate.ts), environment variable names (keys.ts), what SIGHUP can apply (diff.ts), the
// StarlingConfig type, and docs/configuration.md (docs.ts, checked by a test).
//
// A key's description says what it does and why one would change it; its default, type,
// range and reload behaviour are fields beside it, so the docs never repeat them by hand.

import { BACKOFF_DEFAULTS } from '../auth/backoff.js';
import { LOGIN_DEFAULTS } from '../auth/login-guard.js';
import { DEFAULT_LIMITS } from '../broker/types.js';
import { CLUSTER_DEFAULTS } from '../cluster/config.js';
import type { ObjectSpec, ObjectValue } from './spec.js';
import { MQTT_SN_SCHEMA } from '../gateway/mqtt-sn/schema.js';

export type { BooleanSpec, EnumSpec, IntegerSpec, LeafSpec, ListSpec, ObjectSpec, Reload, Spec, StringSpec } from './spec.js';

export const LISTENER_TYPES = ['tcp', 'tls', 'ws', 'wss', 'unix', 'mqtt-sn'] as const;
export type ListenerType = (typeof LISTENER_TYPES)[number];

/** The port a listener of each kind takes when none is given. */
export const DEFAULT_PORTS: Readonly<Record<Exclude<ListenerType, 'unix'>, number>> = Object.freeze({
  tcp: 1883,
  tls: 8883,
  ws: 8083,
  wss: 8084,
  'mqtt-sn': 1884,
});
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_WEBSOCKET_PATH = '/mqtt';

const tls = {
  type: 'object',
  optional: true,
  description: 'TLS for a `tls` or `wss` listener (and only for those).',
  fields: {
    cert: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none; required',
      description:
        'PEM certificate chain file, server certificate first. The files named here are re-read on SIGHUP, so a renewed certificate is picked up without a restart; naming another file needs one.',
    },
    key: { type: 'string', reload: 'restart', defaultText: 'none; required', description: 'PEM private key file of `cert`.' },
    ca: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none: clients are not asked for a certificate',
      description:
        'PEM file of the CAs that sign client certificates. Setting it asks clients for a certificate; `requireCertificate` decides whether one is needed.',
    },
    requireCertificate: {
      type: 'boolean',
      reload: 'restart',
      defaultText: 'true when `certificateAsUsername` is set, else false',
      description: 'Refuse clients without a certificate signed by `ca` (which is then required).',
    },
    certificateAsUsername: {
      type: 'enum',
      values: ['cn', 'san'],
      reload: 'restart',
      defaultText: 'none: the CONNECT user name is used',
      description:
        "The verified client certificate's identity becomes the client's user name: `cn` its subject's Common Name, `san` its first Subject Alternative Name. A certificate without one is refused. Needs `ca`. The certificate authenticates the client: with `auth.passwordFile` no password is asked of it (as Mosquitto's `use_identity_as_username`); `auth.aclFile` applies to the name.",
    },
    minVersion: {
      type: 'enum',
      values: ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'],
      default: 'TLSv1.2',
      reload: 'restart',
      description: 'Lowest TLS version accepted.',
    },
    ciphers: {
      type: 'string',
      reload: 'restart',
      defaultText: "Node's default list",
      description: 'OpenSSL cipher list for TLS 1.2 and lower (TLS 1.3 suites are not affected).',
    },
    sessionTimeout: {
      type: 'integer',
      min: 1,
      max: 604_800,
      defaultText: '7200',
      reload: 'restart',
      description:
        "Seconds a TLS session (its ticket) stays resumable. A device back from an outage longer than this pays a full handshake. The default is OpenSSL's, which Mosquitto keeps; Node's own would be 300. TLS 1.3 allows at most 7 days.",
    },
    ticketKeyFile: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none: random keys per process (with `--workers`, drawn once by the primary and shared by its workers)',
      description:
        'File of the 48 random bytes that encrypt TLS session tickets, created (mode 0600) when missing. With it, a client that reconnects after a restart resumes its TLS session instead of paying a full handshake, whichever worker takes it. Several listeners, and several brokers behind one load balancer, may share the file. Replace its content and send SIGHUP to rotate the keys (tickets issued before are then refused: one full handshake each). A file of another size, or one that cannot be read, stops start-up.',
    },
  },
} as const satisfies ObjectSpec;

const listener = {
  type: 'object',
  description: 'One way in for clients.',
  fields: {
    type: {
      type: 'enum',
      values: LISTENER_TYPES,
      default: 'tcp',
      reload: 'restart',
      description:
        '`tcp` plain MQTT; `tls` MQTT over TLS; `ws` MQTT over WebSocket; `wss` WebSocket over TLS; `unix` a Unix domain socket at `path`; `mqtt-sn` an MQTT-SN v1.2 gateway on UDP (settings in `mqttSn`).',
    },
    name: {
      type: 'string',
      reload: 'restart',
      defaultText: '`{type}:{host}:{port}`, or `unix:{path}`',
      description: 'A name for logs and hooks.',
    },
    host: {
      type: 'string',
      reload: 'restart',
      defaultText: `\`${DEFAULT_HOST}\` (not for unix)`,
      description:
        'Address to bind. The default keeps a fresh broker reachable from this machine only; `0.0.0.0` (IPv4) or `::` (IPv6, and IPv4 on most systems) opens it to the network.',
    },
    port: {
      type: 'integer',
      min: 0,
      max: 65_535,
      reload: 'restart',
      defaultText: `${DEFAULT_PORTS.tcp} (tcp), ${DEFAULT_PORTS.tls} (tls), ${DEFAULT_PORTS.ws} (ws), ${DEFAULT_PORTS.wss} (wss), ${DEFAULT_PORTS['mqtt-sn']} (mqtt-sn, UDP); not for unix`,
      description: 'Port to bind; 0 picks a free one.',
    },
    path: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none; required for unix',
      description: 'unix only: the socket file. A stale one is removed when the listener opens, ours when it closes.',
    },
    websocketPath: {
      type: 'string',
      reload: 'restart',
      defaultText: `\`${DEFAULT_WEBSOCKET_PATH}\` (ws, wss)`,
      pattern: { regex: /^\//, expected: 'a URL path starting with "/"' },
      description: 'ws and wss only: the URL path WebSocket clients connect to.',
    },
    maxConnections: {
      type: 'integer',
      min: 0,
      defaultText: '0 (unlimited)',
      reload: 'restart',
      description:
        'Open connections on this listener, counting those not yet past CONNECT. A CONNECT beyond it is refused with 0x89 Server busy (3.1.1: 0x03). 0 means unlimited; `limits.maxConnections` bounds all listeners together.',
    },
    allowAnonymous: {
      type: 'boolean',
      reload: 'restart',
      defaultText: 'true on a loopback host or a unix socket, false otherwise',
      description:
        'Accept anonymous clients: those that give no user name and that no authenticate hook accepts. The default looks at the client too: on a loopback listener a client is not local, and not let in anonymously, when a PROXY protocol header names another address or a WebSocket upgrade carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP` (a reverse proxy forwarded it). Set it explicitly to decide for every client of the listener.',
    },
    proxyProtocol: {
      type: 'boolean',
      reload: 'restart',
      defaultText: 'false (not for unix)',
      description:
        "Every connection starts with a PROXY protocol v1 or v2 header from a load balancer (HAProxy, AWS NLB), whose source address becomes the client's address; a connection without one is closed. Enable it only behind such a proxy: otherwise any client could claim any address.",
    },
    handshakeTimeout: {
      type: 'integer',
      min: 1,
      unit: 'ms',
      default: 10_000,
      reload: 'restart',
      description: 'Time allowed for each step before MQTT starts: PROXY header, TLS handshake, WebSocket upgrade. A TLS handshake closed for it is counted (`starling_transport_refused_total{reason="handshake_timeout"}`).',
    },
    maxFrameSize: {
      type: 'integer',
      min: 1,
      unit: 'bytes',
      reload: 'restart',
      defaultText: '1048576 (1 MiB) (ws, wss)',
      description: 'ws and wss only: largest WebSocket message accepted (a larger one closes the connection with 1009). Keep it at least `limits.maxPacketSize`.',
    },
    allowedOrigins: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none: pages from loopback origins and from the listener\'s own host only (ws, wss)',
      pattern: {
        regex: /^\s*(\*|null|[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s/,]+\/?)(\s*,\s*(\*|null|[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s/,]+\/?))*\s*$/,
        expected: 'origins separated by commas, each scheme://host[:port], "null" or "*"',
      },
      description:
        'ws and wss only: comma-separated origins (`https://app.example, http://localhost:3000`) whose web pages may connect where the connection would be allowed anonymously; `*` allows any. A browser sends its page\'s origin with the upgrade; one from elsewhere is refused with 403 on a listener that lets it in anonymously, so no web site a user visits can use a broker on the user\'s machine. Clients that send no Origin (programs, not pages) are not checked, nor are pages where anonymous clients are refused (they need credentials).',
    },
    tls,
    mqttSn: MQTT_SN_SCHEMA,
  },
} as const satisfies ObjectSpec;

// One line of a bridge's `topics`: Mosquitto's `topic` option without the word `topic`:
// PATTERN [in|out|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]. Wildcards and prefixes are
// checked when the bridge is built (src/bridge/rules.ts), which names the line.
const TOPIC_LINE = /^(?:[ \t]*(?:\S+(?:[ \t]+(?:in|out|both)(?:[ \t]+[0-2](?:[ \t]+\S+[ \t]+\S+)?)?)?)?[ \t]*(?:\r?\n|$))+$/;

const bridge = {
  type: 'object',
  description: 'One connection to another broker (docs/bridges.md).',
  fields: {
    name: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none; required',
      pattern: { regex: /^[A-Za-z0-9._-]+$/, expected: 'letters, digits, ".", "_" and "-"' },
      description: "The bridge's name, as Mosquitto's `connection`: in logs, metrics, the admin API and `$SYS/broker/connection/{name}/state`.",
    },
    enabled: {
      type: 'boolean',
      default: true,
      reload: 'restart',
      description: 'false keeps the bridge in the file without connecting it.',
    },
    addresses: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none; required',
      pattern: {
        regex: /^\s*(?:(?:mqtts?|tcp|tls|ssl|wss?):\/\/[^\s,]+)(?:[\s,]+(?:mqtts?|tcp|tls|ssl|wss?):\/\/[^\s,]+)*\s*$/,
        expected: 'URLs separated by spaces or commas, each mqtt://, mqtts://, ws:// or wss:// (tcp://, tls://, ssl:// too)',
      },
      description:
        'The remote broker, and any others to fail over to: `mqtt://host:1883` (TCP), `mqtts://host:8883` (TLS), `ws://host:8083/mqtt` or `wss://...` (WebSocket, with its path). The first is tried first; see `roundRobin`.',
    },
    roundRobin: {
      type: 'boolean',
      default: false,
      reload: 'restart',
      description:
        "false: after losing the link the bridge starts again from the first address, trying the next only when one fails (failover to a backup). true: each new connection goes to the next address in turn (spreading bridges over a cluster's nodes).",
    },
    protocol: {
      type: 'enum',
      values: ['mqttv50', 'mqttv311'],
      default: 'mqttv50',
      reload: 'restart',
      description:
        "MQTT version spoken to the remote. 5.0 prevents loops with No Local and Retain As Published; 3.1.1 with Mosquitto's bridge flag (see `tryPrivate`).",
    },
    tryPrivate: {
      type: 'boolean',
      default: true,
      reload: 'restart',
      description:
        "3.1.1 only: announce the connection as a bridge (protocol level with 0x80, Mosquitto's `try_private`), so that a Mosquitto or Starling remote sends none of the bridge's own messages back and keeps retain flags. Turn it off for a remote that refuses such a CONNECT.",
    },
    clientId: {
      type: 'string',
      reload: 'restart',
      defaultText: '`{hostname}.{name}`',
      description: 'Client id at the remote. It names the remote session, so it must be unique there and stable across restarts.',
    },
    username: { type: 'string', reload: 'restart', defaultText: 'none', description: 'User name at the remote.' },
    password: { type: 'string', reload: 'restart', secret: true, defaultText: 'none', description: 'Password at the remote. Prefer the environment variable to the file.' },
    keepAlive: {
      type: 'integer',
      min: 0,
      max: 65_535,
      unit: 's',
      default: 60,
      reload: 'restart',
      description: 'Keep alive asked of the remote; a link silent for 1.5 times this long is taken as lost and reconnected.',
    },
    cleanStart: {
      type: 'boolean',
      default: false,
      reload: 'restart',
      description:
        "Start a fresh session at the remote on each connection. The default resumes it, so that the remote keeps the bridge's subscriptions and queues `in` messages while the link is down, and QoS 1/2 messages in flight resume (DUP, PUBREL) after a reconnect.",
    },
    sessionExpiry: {
      type: 'integer',
      min: 0,
      max: 0xffff_ffff,
      unit: 's',
      default: 86_400,
      reload: 'restart',
      description: '5.0: Session Expiry Interval asked of the remote, how long it keeps the session while the link is down (3.1.1 sessions last until the remote expires them).',
    },
    localClientId: {
      type: 'string',
      reload: 'restart',
      defaultText: '`local.{clientId}`',
      description: "Client id of the bridge's in-process client here: its session queues the messages for the remote while the link is down, in the store, so a restart keeps them.",
    },
    localUsername: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none: no ACL user',
      description: "User name the bridge's local side has for ACLs and hooks (Mosquitto's `local_username`): what it may publish (`in`) and read (`out`) here.",
    },
    localSessionExpiry: {
      type: 'integer',
      min: 0,
      max: 0xffff_ffff,
      unit: 's',
      default: 604_800,
      reload: 'restart',
      description:
        "How long the local session and its queue outlive the bridge (stopped, or removed from the file), capped by `limits.maxSessionExpiry`. While the link is down the queue is bounded by `limits.maxQueuedMessages` and `limits.maxQueuedBytes`; beyond them QoS 1/2 messages are dropped and counted (`starling_messages_dropped_total`), QoS 0 ones are not queued.",
    },
    maxInflight: {
      type: 'integer',
      min: 1,
      max: 65_535,
      default: 20,
      reload: 'restart',
      description:
        "QoS 1/2 messages sent to the remote and not yet acknowledged (fewer if the remote's 5.0 Receive Maximum says so); in 5.0 also the Receive Maximum the bridge asks of the remote, the messages it sends unacknowledged.",
    },
    reconnectDelay: {
      type: 'integer',
      min: 1,
      unit: 'ms',
      default: 1000,
      reload: 'restart',
      description: 'Wait before the first reconnection attempt; it doubles with each failed attempt up to `maxReconnectDelay`, each wait drawn at random from its upper half (jitter), so that many edges do not reconnect at once.',
    },
    maxReconnectDelay: {
      type: 'integer',
      min: 1,
      unit: 'ms',
      default: 30_000,
      reload: 'restart',
      description: 'The longest wait between reconnection attempts.',
    },
    notifications: {
      type: 'boolean',
      default: true,
      reload: 'restart',
      description: 'Publish the link state here, retained: `1` when connected, `0` when not (as Mosquitto\'s `notifications`, local side).',
    },
    notificationTopic: {
      type: 'string',
      reload: 'restart',
      defaultText: '`$SYS/broker/connection/{name}/state`',
      description: 'Topic of the link state.',
    },
    topics: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none; required',
      pattern: { regex: TOPIC_LINE, expected: 'one rule a line: PATTERN [in|out|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]' },
      description:
        'What crosses the bridge, one rule a line in Mosquitto\'s form without the word `topic`: `PATTERN [in|out|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]` (direction `out` and QoS 0 when left out; `""` for an empty pattern or prefix). `out` sends local messages matching LOCAL_PREFIX+PATTERN to the remote under REMOTE_PREFIX+PATTERN, `in` the other way, `both` both; QoS is the most a message keeps. Write it as a block (`topics: |`), where `#` needs no quotes.',
    },
    tls: {
      type: 'object',
      optional: true,
      description: 'TLS towards an `mqtts://` or `wss://` remote. Without it the system\'s CAs verify the remote.',
      fields: {
        ca: { type: 'string', reload: 'restart', defaultText: "none: the system's CAs", description: 'PEM file of the CAs that sign the remote\'s certificate (Mosquitto\'s `bridge_cafile`).' },
        cert: { type: 'string', reload: 'restart', defaultText: 'none: no client certificate', description: 'PEM client certificate chain for the remote (`bridge_certfile`).' },
        key: { type: 'string', reload: 'restart', defaultText: 'none', description: 'PEM private key of `cert` (`bridge_keyfile`).' },
        insecure: {
          type: 'boolean',
          default: false,
          reload: 'restart',
          description: "Do not check the remote's certificate (`bridge_insecure`): for tests only, it lets anyone in the middle read and change the traffic.",
        },
      },
    },
  },
} as const satisfies ObjectSpec;

/** The file's top level. Sections are in the order the docs show them. */
export const SCHEMA = {
  type: 'object',
  description: 'The Starling configuration file.',
  fields: {
    listeners: {
      type: 'list',
      reload: 'restart',
      minItems: 1,
      default: [{ type: 'tcp' }],
      description: 'Where clients connect. Each entry is one listener; the default is one TCP listener on 127.0.0.1:1883.',
      items: listener,
    },
    auth: {
      type: 'object',
      description:
        'Built-in authentication and authorization, and the bounds on the work logins cause (docs/security.md). Both files are re-read on SIGHUP, and a reload that names other files, or names one for the first time, or none, switches to them; a file that fails to load keeps the previous table and the reload answers with its error. A relative path is read from the config file\'s folder (from the working directory when it comes from an environment variable or a flag).',
      fields: {
        passwordFile: {
          type: 'string',
          reload: 'live',
          defaultText: 'none: user names and passwords are not checked',
          description:
            'Password file: one `user:hash` line per user, as `mosquitto_passwd` or `starling passwd` write it. When set, a client that gives a user name must give its password, unless the name comes from its verified TLS certificate (`certificateAsUsername`), which authenticates it. Loading warns about `$6$` hashes and `$7$` hashes of fewer than 210,000 iterations.',
        },
        aclFile: {
          type: 'string',
          reload: 'live',
          defaultText: 'none: every client may publish and subscribe to every topic',
          description: 'ACL file in Mosquitto\'s format (`user`, `topic`, `pattern` lines). When set, only what it grants is allowed; each denial is logged at debug level and counted (`starling_acl_denied_total`).',
        },
        hashConcurrency: {
          type: 'integer',
          min: 1,
          max: 64,
          reload: 'restart',
          defaultText: String(LOGIN_DEFAULTS.hashConcurrency),
          description:
            'Password checks (scrypt, PBKDF2) computed at once over all clients; one source address never has more than one. The others wait their turn, sources taking turns. Each keeps a core busy while it runs (about 0.25 s for a `starling passwd` scrypt hash), on libuv\'s thread pool (4 threads unless `UV_THREADPOOL_SIZE` says otherwise).',
        },
        maxPendingLogins: {
          type: 'integer',
          min: 1,
          reload: 'restart',
          defaultText: String(LOGIN_DEFAULTS.maxPending),
          description:
            'Password logins admitted and not yet checked, over all sources. One more is refused at once, before any hashing, with 0x89 Server busy (3.1.1: 0x03), and counted (`starling_auth_logins_refused_total{reason="busy"}`).',
        },
        maxPendingLoginsPerSource: {
          type: 'integer',
          min: 1,
          reload: 'restart',
          defaultText: String(LOGIN_DEFAULTS.maxPendingPerSource),
          description:
            'Password logins in progress from one source address (IPv6: one /64), waiting, being checked or waiting out the failure delay. One more is refused at once with 0x9F Connection rate exceeded (3.1.1: 0x03) and counted (`reason="source"`). Raise it for many devices behind one address (NAT).',
        },
        failureDelay: {
          type: 'integer',
          min: 0,
          unit: 'ms',
          reload: 'restart',
          defaultText: String(BACKOFF_DEFAULTS.initialMs),
          description:
            'After a failed login, the wait before it is refused and before the next attempt from that address is checked; it doubles with each consecutive failure, counted per address and per address and user name. A success clears the address\'s count and that user\'s, not the count against other users; 10 minutes without failure clear it too. 0 turns it off.',
        },
        maxFailureDelay: {
          type: 'integer',
          min: 0,
          unit: 'ms',
          reload: 'restart',
          defaultText: String(BACKOFF_DEFAULTS.maxMs),
          description: 'The longest `failureDelay` reaches by doubling.',
        },
        failureMemory: {
          type: 'integer',
          min: 1,
          reload: 'restart',
          defaultText: String(BACKOFF_DEFAULTS.maxAddresses),
          description: 'Addresses (and, separately, address and user name pairs) whose failures are remembered; beyond it the one that failed longest ago is forgotten (counted: `starling_auth_failures_forgotten_total`).',
        },
      },
    },
    limits: {
      type: 'object',
      description: 'Bounds on what clients can make the broker hold. Changes apply to connections made after a reload where MQTT advertises the value at CONNECT.',
      fields: {
        maxPacketSize: {
          type: 'integer',
          min: 20,
          max: 268_435_460,
          unit: 'bytes',
          default: DEFAULT_LIMITS.maxPacketSize,
          reload: 'live',
          // The floor is Mosquitto's: below it ordinary packets with small payloads are refused.
          description: 'Largest packet accepted from a client, fixed header included (advertised to 5.0 clients as Maximum Packet Size).',
        },
        maxConnectPacketSize: {
          type: 'integer',
          min: 64,
          max: 268_435_460,
          unit: 'bytes',
          default: DEFAULT_LIMITS.maxConnectPacketSize,
          reload: 'live',
          description:
            "Largest packet accepted from a client not yet connected: its CONNECT (client id, user name, password, will) and 5.0 AUTH packets, and any packet it sends before its CONNECT is accepted. Until then the client is unauthenticated, and each unfinished packet holds memory up to this size. A larger packet gets CONNACK 0x95 Packet too large (3.1/3.1.1: the connection is closed) and is counted (`limited.connect_packet`). At the default a will payload near the protocol's maximum of 65,535 bytes does not fit (about 65,400 bytes do, beside a short client id, will topic and password): raise it for clients with such wills or with long passwords (tokens). `maxPacketSize` applies when it is smaller.",
        },
        receiveMaximum: {
          type: 'integer',
          min: 1, // [MQTT-3.2.2.3.3] Receive Maximum 0 is a Protocol Error
          max: 65_535,
          default: DEFAULT_LIMITS.receiveMaximum,
          reload: 'live',
          description:
            '5.0 Receive Maximum the broker advertises: QoS 1 and 2 publishes a 5.0 client may have unacknowledged; one more gets DISCONNECT 0x93. 3.1/3.1.1 have no Receive Maximum, so their clients are not held to it (as with Mosquitto): what bounds them is the packet identifier space, 65,535 publishes awaiting PUBACK or PUBREL, which a client passes only by reusing identifiers still in use; it is then closed.',
        },
        maxInflight: {
          type: 'integer',
          min: 1,
          max: 65_535,
          default: DEFAULT_LIMITS.maxInflight,
          reload: 'live',
          description: "Outbound QoS 1 and 2 messages in flight per client, further capped by the client's Receive Maximum.",
        },
        maxQueuedMessages: {
          type: 'integer',
          min: 0,
          default: DEFAULT_LIMITS.maxQueuedMessages,
          reload: 'live',
          description: 'Messages queued per session while its in-flight window is full or the client is offline; beyond it messages are dropped (and counted). 0 queues nothing.',
        },
        maxQueuedBytes: {
          type: 'integer',
          min: 0,
          unit: 'bytes',
          default: DEFAULT_LIMITS.maxQueuedBytes,
          reload: 'live',
          description:
            "Bytes queued per session: each message's payload and its topic (one byte a character), since a message with a long topic holds that too. Beyond it messages are dropped and counted, as for `maxQueuedMessages`.",
        },
        maxSocketBuffer: {
          type: 'integer',
          min: 0,
          unit: 'bytes',
          default: DEFAULT_LIMITS.maxSocketBuffer,
          reload: 'live',
          description: 'Bytes buffered in a socket before QoS 0 messages to it are dropped: a subscriber that stops reading cannot make the broker hold without bound.',
        },
        topicAliasMaximum: {
          type: 'integer',
          min: 0,
          max: 65_535,
          default: DEFAULT_LIMITS.topicAliasMaximum,
          reload: 'live',
          description: 'Topic Alias Maximum advertised to 5.0 clients; 0 refuses topic aliases.',
        },
        maxKeepAlive: {
          type: 'integer',
          min: 0,
          max: 65_535,
          unit: 's',
          default: DEFAULT_LIMITS.maxKeepAlive,
          reload: 'live',
          description: 'Largest keep alive accepted; a client asking more (or 0) is told this one (5.0 Server Keep Alive). 0 means no cap.',
        },
        maxSessionExpiry: {
          type: 'integer',
          min: 0,
          max: 0xffff_ffff,
          unit: 's',
          default: DEFAULT_LIMITS.maxSessionExpiry,
          reload: 'live',
          description: 'Longest session expiry interval granted; 4294967295 means sessions never expire.',
        },
        maxTopicLength: {
          type: 'integer',
          min: 1,
          max: 65_535,
          unit: 'bytes',
          default: DEFAULT_LIMITS.maxTopicLength,
          reload: 'live',
          description: 'Longest topic name or filter.',
        },
        maxTopicLevels: {
          type: 'integer',
          min: 1,
          default: DEFAULT_LIMITS.maxTopicLevels,
          reload: 'live',
          description: 'Most levels in a topic name or filter.',
        },
        maxSubscriptionsPerClient: {
          type: 'integer',
          min: 0,
          default: DEFAULT_LIMITS.maxSubscriptionsPerClient,
          reload: 'live',
          description: 'Subscriptions one client may hold. A SUBSCRIBE beyond it is refused for the filters that do not fit (0x97 Quota exceeded; 3.1.1: 0x80) and counted (`limited.subscriptions`); replacing a subscription the client has always works.',
        },
        maxSubscriptionBytesPerClient: {
          type: 'integer',
          min: 0,
          unit: 'bytes',
          default: DEFAULT_LIMITS.maxSubscriptionBytesPerClient,
          reload: 'live',
          description:
            "Bytes of one client's topic filters together (one byte a character), refused and counted as `maxSubscriptionsPerClient` is. The count alone lets a client hold 10,000 filters of 64 KB; this bounds what the names take. The default holds 10,000 filters of 100 characters. 0 means unlimited.",
        },
        maxSubscriptionBytes: {
          type: 'integer',
          min: 0,
          unit: 'bytes',
          default: DEFAULT_LIMITS.maxSubscriptionBytes,
          reload: 'live',
          description:
            "Bytes of all sessions' topic filters together, connected or not; a filter beyond it is refused as for `maxSubscriptionsPerClient` and counted (`limited.subscription_bytes`). 0 means unlimited.",
        },
        maxRetainedMessages: {
          type: 'integer',
          min: 0,
          default: DEFAULT_LIMITS.maxRetainedMessages,
          reload: 'live',
          description:
            'Retained messages held at once (one per topic). A retained publish that would store a new topic beyond it is refused from a 5.0 client at QoS 1 or 2 (PUBACK/PUBREC 0x97 Quota exceeded, not delivered); otherwise (3.1/3.1.1, QoS 0, wills, `$SYS`, the admin API) it is delivered but not retained. Either way it is counted (`limited.retained`). Replacing a retained message with one no larger, and deleting one, always work. 0 means unlimited.',
        },
        maxRetainedBytes: {
          type: 'integer',
          min: 0,
          unit: 'bytes',
          default: DEFAULT_LIMITS.maxRetainedBytes,
          reload: 'live',
          description:
            'Bytes of all retained messages together, as they take memory: payloads, topics (one byte a character), 128 bytes a message and 256 bytes a topic level held (a node of the topic tree), so that long or deep topics count as much as payloads. A retained publish that would store a new topic or a larger message beyond it is handled as for `maxRetainedMessages`. 0 means unlimited.',
        },
        maxSessions: {
          type: 'integer',
          min: 0,
          default: DEFAULT_LIMITS.maxSessions,
          reload: 'live',
          description:
            'Sessions held at once, connected or not. A CONNECT that would create one more is refused with 0x97 Quota exceeded (3.1/3.1.1: 0x03 Server unavailable) and counted (`limited.sessions`); a client resuming or taking over its own session never is. 0 means unlimited.',
        },
        maxConnections: {
          type: 'integer',
          min: 0,
          default: DEFAULT_LIMITS.maxConnections,
          reload: 'live',
          description: 'Concurrent connections over all listeners; 0 means unlimited.',
        },
        maxSockets: {
          type: 'integer',
          min: 0,
          reload: 'live',
          defaultText: 'the open-file limit (`ulimit -n`) less 128, or half of it if that is more; unlimited when the limit is unknown',
          description:
            'Open client sockets over all listeners, counted from accept, before the PROXY header, TLS, the WebSocket upgrade and CONNECT. One more is closed at once and counted (`starling_transport_refused_total{reason="sockets"}`). Each socket is a file descriptor: the default keeps 128 for the store, logs, listeners and the HTTP server, so a flood of connections is refused instead of starving the process of descriptors. The value in force is logged at start-up. 0 means unlimited.',
        },
        connectTimeout: {
          type: 'integer',
          min: 1,
          unit: 'ms',
          default: DEFAULT_LIMITS.connectTimeout,
          reload: 'live',
          description: 'Time allowed between accepting a connection and its CONNECT packet.',
        },
        maxConnectRate: {
          type: 'integer',
          min: 0,
          unit: 'connections/s',
          default: DEFAULT_LIMITS.maxConnectRate,
          reload: 'live',
          description:
            'CONNECT packets per second from one source address (IPv6: per /64; a unix socket counts as one source), with a burst of one second\'s worth. Beyond it the CONNECT is refused with 0x9F Connection rate exceeded (3.1.1: 0x03). 0 means unlimited.',
        },
        maxPublishRate: {
          type: 'integer',
          min: 0,
          unit: 'messages/s',
          default: DEFAULT_LIMITS.maxPublishRate,
          reload: 'live',
          description:
            'PUBLISH packets per second from one client, with a burst of one second\'s worth. Beyond it a 5.0 client\'s publish is refused (PUBACK/PUBREC 0x97, QoS 0 dropped; DISCONNECT 0x96 if it keeps on), and the broker stops reading from a 3.1/3.1.1 client until it is back within the rate. 0 means unlimited.',
        },
        maxByteRate: {
          type: 'integer',
          min: 0,
          unit: 'bytes/s',
          default: DEFAULT_LIMITS.maxByteRate,
          reload: 'live',
          description: 'PUBLISH payload bytes per second from one client, with a burst of one second\'s worth; enforced as `maxPublishRate` is. 0 means unlimited.',
        },
      },
    },
    mqtt: {
      type: 'object',
      description: 'Protocol features the broker offers. They are told to clients at CONNECT, so a change needs a restart.',
      fields: {
        maximumQoS: {
          type: 'enum',
          values: [0, 1, 2],
          default: 2,
          reload: 'restart',
          env: 'STARLING_MQTT_MAXIMUM_QOS',
          description: '5.0 Maximum QoS advertised; publishes above it are refused.',
        },
        retainAvailable: {
          type: 'boolean',
          default: true,
          reload: 'restart',
          description: 'Whether retained messages are supported.',
        },
        serverReference: {
          type: 'string',
          reload: 'restart',
          defaultText: 'none: clients are not redirected',
          description: '5.0 Server Reference sent with CONNACK 0x9C/0x9D and DISCONNECT when redirecting clients to another server.',
        },
      },
    },
    bridges: {
      type: 'list',
      reload: 'restart',
      minItems: 0,
      default: [],
      description: 'Connections to other brokers, as Mosquitto\'s `connection` blocks: see docs/bridges.md. None by default.',
      items: bridge,
    },
    log: {
      type: 'object',
      description: 'Logging (pino, one JSON object per line on stdout).',
      fields: {
        level: {
          type: 'enum',
          values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
          reload: 'live',
          description: 'Least severe level written; `silent` writes nothing.',
        },
        pretty: {
          type: 'boolean',
          default: false,
          reload: 'restart',
          description: 'Human-readable lines instead of JSON, for a terminal.',
        },
        flushInterval: {
          type: 'integer',
          min: 0,
          max: 10_000,
          unit: 'ms',
          default: 100,
          reload: 'restart',
          description:
            'Lines are written to stdout in batches, at most this long after they are logged (sooner once 16 KB collect): in a reconnect storm one write carries many `client connected` lines. A `kill -9` loses the lines of the last interval; any other exit writes them. 0 writes each line as it comes. Not for `pretty`.',
        },
      },
    },
    workers: {
      type: 'object',
      description: 'The primary process of `starling --workers N` (docs/workers.md): how it restarts a worker that died and how long a stop may take. Read at start only.',
      fields: {
        restartDelay: {
          type: 'integer',
          min: 10,
          max: 600_000,
          unit: 'ms',
          default: 500,
          reload: 'restart',
          description: 'Wait before restarting a worker that died; doubled at each further death, up to `maxRestartDelay`, so a worker that cannot stay up does not spin a core.',
        },
        maxRestartDelay: {
          type: 'integer',
          min: 10,
          max: 3_600_000,
          unit: 'ms',
          default: 30_000,
          reload: 'restart',
          description: 'The longest wait between restarts of one worker. A worker that stayed up this long starts again from `restartDelay` when it dies.',
        },
        stopTimeout: {
          type: 'integer',
          min: 100,
          max: 600_000,
          unit: 'ms',
          default: 10_000,
          reload: 'restart',
          description: 'On SIGTERM or SIGINT, how long the workers have to close their brokers gracefully before the primary kills those left and exits with status 1.',
        },
        parallelScavenge: {
          type: 'boolean',
          default: false,
          reload: 'restart',
          description:
            "V8's parallel scavenges in the workers. `false` starts each worker with Node's `--no-parallel-scavenge`: a worker then collects its young generation on its own thread instead of splitting the pause with helper threads, which, with the cores already taken by the other workers, Redis and the clients, kept the pause waiting for a helper with no core to run on. Measured on 2 cores, the cross-node p99 latency at 1,000 msg/s was 0.9-1.5 ms without them and 1.3-2.4 ms with them, at the same CPU per TLS handshake (docs/workers.md). `true` leaves Node's default.",
        },
      },
    },
    persistence: {
      type: 'object',
      description:
        'Where sessions, queued and in-flight QoS 1/2 messages, retained messages and pending wills are kept. By default they survive restarts and `kill -9`: see docs/durability.md.',
      fields: {
        store: {
          type: 'enum',
          values: ['sqlite', 'memory', 'disk', 'redis'],
          default: 'sqlite',
          reload: 'restart',
          description:
            '`sqlite` keeps state in `dataDir` (SQLite, written by a worker thread); `memory` keeps nothing across restarts. `disk` is another name for `sqlite`. `redis` keeps it in the Redis at `redis`, where the nodes of a cluster share sessions (docs/clustering-sessions.md).',
        },
        redis: {
          type: 'string',
          defaultText: '`redis://127.0.0.1:6379`',
          reload: 'restart',
          description: 'With `store: redis`: the Redis URL (`redis://[user:password@]host:port[/db]`, or the Sentinel and Redis Cluster forms of `cluster.redis`); on a cluster member it defaults to `cluster.redis`. How safe an acknowledged message is rests on its `appendfsync` (docs/durability.md).',
        },
        node: {
          type: 'string',
          defaultText: 'the host name',
          reload: 'restart',
          description: 'With `store: redis`: this broker\'s node name, the same across its restarts (it finds its sessions under it) and different from every other node sharing the Redis. On a cluster member the member\'s name (`cluster.node`) is used instead.',
        },
        takeoverTimeout: {
          type: 'integer',
          min: 100,
          max: 60_000,
          unit: 'ms',
          default: 5000,
          reload: 'restart',
          description:
            'With `store: redis`: the longest a CONNECT waits for the node holding its client id to let it go (disconnect its client, write the session to Redis). One that waits longer is refused with 0x89 Server busy (3.1.1: 0x03), never let in beside the other connection.',
        },
        deadNodeCheck: {
          type: 'integer',
          min: 0,
          max: 3_600_000,
          unit: 'ms',
          default: 2000,
          reload: 'restart',
          description:
            "With `store: redis`: how often a node looks for dead nodes (membership key gone) whose sessions and wills still wait for a survivor to adopt them. 0: never (another node must). Adoptions are counted in `starling_cluster_sessions_adopted_from_dead_total`.",
        },
        willsLockTtl: {
          type: 'integer',
          min: 1000,
          max: 3_600_000,
          unit: 'ms',
          default: 30_000,
          reload: 'restart',
          description:
            "With `store: redis`: expiry of the lock a survivor takes on a dead node's sessions and wills. Only its holder adopts them; one that dies midway leaves the rest to the next survivor once it expires. Keep it longer than adopting a dead node's sessions takes.",
        },
        runGrace: {
          type: 'integer',
          min: 1000,
          max: 604_800_000,
          unit: 'ms',
          default: 600_000,
          reload: 'restart',
          description:
            "With `store: redis`: how long the messages of this node's earlier runs stay in Redis after a restart retired them: another node that claimed one of its sessions while it was down may still be reading them. Far longer than a takeover takes.",
        },
        dataDir: {
          type: 'string',
          default: './data',
          reload: 'restart',
          description: 'Directory of the sqlite store (file `starling.db`), relative to the working directory; created when missing. One broker per directory.',
        },
        durability: {
          type: 'enum',
          values: ['strict', 'batched', 'none'],
          default: 'strict',
          reload: 'restart',
          description:
            '`strict`: QoS 1/2 messages are acknowledged (PUBACK, PUBREC) and delivered only once synced to disk; many share one commit. `batched`: acknowledged at once and synced within `batchInterval`, so a crash loses at most that window. `none`: nothing is written (as `store: memory`).',
        },
        batchInterval: {
          type: 'integer',
          min: 1,
          max: 10_000,
          unit: 'ms',
          default: 50,
          reload: 'restart',
          description: 'With `durability: batched`, the longest time a change waits before it is synced: the loss window of a crash.',
        },
      },
    },
    sys: {
      type: 'object',
      description: "`$SYS/broker/...` topics with Mosquitto's names (clients, messages, bytes, load averages): see docs/operations.md.",
      fields: {
        interval: {
          type: 'integer',
          min: 0,
          max: 86_400,
          unit: 's',
          default: 10,
          reload: 'restart',
          description: 'How often the `$SYS` topics are published (retained, only those whose value changed); 0 publishes none.',
        },
      },
    },
    http: {
      type: 'object',
      description: 'The operations HTTP server: Prometheus `/metrics`, `/healthz`, `/readyz`, the admin API under `/api/v1/` (docs/operations.md, docs/admin-api.yaml) and the web dashboard at `/` (docs/dashboard.md).',
      fields: {
        port: {
          type: 'integer',
          min: 0,
          max: 65_535,
          reload: 'restart',
          defaultText: 'none: no HTTP server',
          description: 'Port of the HTTP server; setting it turns the server on. 0 picks a free one.',
        },
        host: {
          type: 'string',
          default: DEFAULT_HOST,
          reload: 'restart',
          description: 'Address to bind. Metrics and health need no token: open them to the network (`0.0.0.0`) only where that is wanted.',
        },
        maxConnections: {
          type: 'integer',
          min: 1,
          default: 64,
          reload: 'restart',
          description:
            'Connections open at once. A new one beyond it closes the oldest connection that has no request in progress, so a health probe gets through a flood of idle connections; only when every one is busy is the new one refused.',
        },
        idleTimeout: {
          type: 'integer',
          min: 100,
          unit: 'ms',
          default: 10_000,
          reload: 'restart',
          description: 'A connection with nothing sent either way for this long is closed; it also bounds the wait for request headers (keep-alive waits at most 5 s).',
        },
        adminToken: {
          type: 'string',
          reload: 'restart',
          secret: true,
          defaultText: 'none: the admin API is off',
          description:
            'Bearer token the admin API (`/api/v1/`) requires (`Authorization: Bearer <token>`). Without one the admin API answers 404. Prefer the environment variable to the file; the API shows the config with it redacted.',
        },
        dashboard: {
          type: 'object',
          description: 'The web dashboard served at `/` (docs/dashboard.md). Logging in takes `http.adminToken`, or the password of one of `http.dashboard.adminUsers`; with neither the page is shown but nobody can log in.',
          fields: {
            enabled: { type: 'boolean', default: true, reload: 'restart', description: 'Serve the dashboard and keep its topic tree.' },
            adminUsers: {
              type: 'string',
              reload: 'restart',
              defaultText: 'none: only the admin token logs in',
              description:
                'Comma-separated user names of the password file (`auth.passwordFile`) who may log in to the dashboard with their password, as administrators: they can do all the admin API does. Checked against the password file in use (a reload that changes a password applies), one check at a time; failures are counted in `starling_dashboard_login_failures_total`.',
            },
            maxSessions: {
              type: 'integer',
              min: 1,
              max: 10_000,
              default: 16,
              reload: 'restart',
              description: 'Logins held at once; a new one beyond it ends the least recently used (`starling_dashboard_sessions_ended_total{reason="evicted"}`).',
            },
            sessionTimeout: {
              type: 'integer',
              min: 60,
              unit: 's',
              default: 3600,
              reload: 'restart',
              description: 'A login unused for this long ends; an open page keeps it in use.',
            },
            maxTopics: {
              type: 'integer',
              min: 0,
              default: 10_000,
              reload: 'restart',
              description:
                'Nodes (topic levels) of the live topic tree, built from every message routed; each keeps a copy of at most 256 bytes of its last payload. Messages beyond it are counted in `starling_dashboard_topics_untracked_total`. 0 turns the tree off, and its cost on the message path with it.',
            },
            maxTopicBytes: {
              type: 'integer',
              min: 0,
              unit: 'bytes',
              default: 1024 * 1024,
              reload: 'restart',
              description:
                'Bytes of topic level names the live topic tree holds, beside `maxTopics`: a publisher chooses how long its topics are. Messages beyond it are counted in `starling_dashboard_topics_untracked_total`; the bytes held are `starling_dashboard_topic_bytes`.',
            },
            watchRate: {
              type: 'integer',
              min: 1,
              default: 100,
              reload: 'restart',
              description: 'Messages a second that a subscription watched from the dashboard shows; the rest are counted in `starling_dashboard_watch_skipped_total`.',
            },
          },
        },
      },
    },
    cluster: {
      type: 'object',
      optional: true,
      description:
        'Makes this broker a member of a cluster on Redis 7: routes, QoS 1/2 forwards, retained messages and membership live in Redis (docs/clustering.md). Without the section the broker is standalone; with it, `redis` is required.',
      fields: {
        redis: {
          type: 'string',
          reload: 'restart',
          secret: true,
          defaultText: 'none; required in a `cluster` section',
          pattern: { regex: /^(redis|rediss|redis-sentinel|redis-cluster):\/\/\S+$/, expected: 'a redis://, rediss://, redis-sentinel:// or redis-cluster:// URL' },
          description:
            'The Redis to join through: `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS), `redis-sentinel://[user:password@]host:26379,host2:26379/mastername[/db]` for Sentinel, `redis-cluster://[user:password@]host:7000,host2:7001` for a Redis Cluster (some of its masters). Setting it makes the broker a member.',
        },
        node: {
          type: 'string',
          reload: 'restart',
          defaultText: '`<hostname>-<pid>`',
          description: "This member's name, unique in the cluster. A fixed name lets a restarted node read the QoS 1/2 forwards left in its inbox.",
        },
        prefix: {
          type: 'string',
          default: CLUSTER_DEFAULTS.prefix,
          reload: 'restart',
          description: 'Prefix of every Redis key and channel the cluster uses, so several clusters can share one Redis.',
        },
        heartbeatInterval: {
          type: 'integer',
          min: 50,
          max: 60_000,
          unit: 'ms',
          default: CLUSTER_DEFAULTS.heartbeatInterval,
          reload: 'restart',
          description: 'How often the node refreshes its membership key and checks the others.',
        },
        nodeTimeout: {
          type: 'integer',
          min: 200,
          max: 600_000,
          unit: 'ms',
          default: CLUSTER_DEFAULTS.nodeTimeout,
          reload: 'restart',
          description:
            'TTL of the membership key: a node silent this long (killed, cut off from Redis) is out of the cluster; the others stop forwarding to it. Keep it several heartbeats long.',
        },
        maxPendingForwards: {
          type: 'integer',
          min: 1,
          default: CLUSTER_DEFAULTS.maxPendingForwards,
          reload: 'restart',
          description:
            'QoS 1/2 messages for other nodes held in memory until Redis acknowledges them (while Redis is away, their publishers get no PUBACK/PUBREC). A forward beyond it is not sent: its publisher is disconnected unacknowledged (0x83) and sends it again when it reconnects. Counted in `starling_cluster_forwards_dropped_total`.',
        },
        inboxMaxWait: {
          type: 'integer',
          min: 10,
          max: 3_600_000,
          unit: 'ms',
          default: CLUSTER_DEFAULTS.inboxMaxWait,
          reload: 'restart',
          description:
            'Flow control of QoS 1/2 forwards: the node reads its inbox stream only while the local sessions it delivered to have room in their queues, so what they cannot take yet waits in Redis instead of being dropped. A session whose queue does not shrink for this long is not waited for any more (its overflow is dropped as on a standalone broker). Counted in `starling_cluster_inbox_waits_total` and `starling_cluster_inbox_wait_timeouts_total`.',
        },
        volatileWindow: {
          type: 'integer',
          min: 1024,
          unit: 'bytes',
          default: CLUSTER_DEFAULTS.volatileWindow,
          reload: 'restart',
          description:
            "Flow control of QoS 0 forwards: bytes sent to one node over pub/sub and not yet seen processed there. The QoS 0 publish that goes beyond it is sent and its publisher is paused (not read) until that node catches up (`cluster.volatileMaxWait`), as TCP slows the publishers of a standalone node; a forward arriving while the node is still beyond it is dropped at the sender, so a node that falls behind is never disconnected by Redis's `client-output-buffer-limit pubsub` (which would lose the whole buffer). Redis holds at most this much plus one event-loop turn of a sender for a node, so keep it under Redis's pub/sub soft limit (default `8mb` for 60 s) divided by the number of nodes sending. Counted in `starling_cluster_volatile_waits_total` and `starling_cluster_volatile_shed_total`.",
        },
        volatileMaxWait: {
          type: 'integer',
          min: 10,
          max: 3_600_000,
          unit: 'ms',
          default: CLUSTER_DEFAULTS.volatileMaxWait,
          reload: 'restart',
          description:
            'How long a QoS 0 publisher stays paused waiting for a node beyond `cluster.volatileWindow` to catch up, and how long a node holds QoS 0 forwards back for local clients that do not drain. A node still behind after it is not waited for: QoS 0 to it is dropped at the sender until it catches up, so a stalled member cannot stall the publishers of this node; clients that did not drain drop what they cannot take, as on a standalone broker. Counted in `starling_cluster_volatile_wait_timeouts_total` and `starling_cluster_volatile_read_wait_timeouts_total`.',
        },
        fence: {
          type: 'boolean',
          default: CLUSTER_DEFAULTS.fence,
          reload: 'restart',
          description:
            'With `persistence.store: redis`: a member that has not renewed its membership for two thirds of `nodeTimeout` (judged on its own clock, before the others can find it dead and adopt its sessions) disconnects its clients with persistent sessions (5.0: DISCONNECT 0x9C Use another server) and refuses CONNECTs until Redis answers again; then it drops the sessions another member took meanwhile. So a netsplit cannot leave one client id connected twice. `false` keeps them connected through a split (the store still never writes a session another member owns). Counted in `starling_cluster_fences_total` (docs/clustering-sessions.md).',
        },
      },
    },
  },
} as const satisfies ObjectSpec;

/** The validated configuration: defaults filled in, every value checked. */
export type StarlingConfig = ObjectValue<(typeof SCHEMA)['fields']>;
export type ListenerConfig = StarlingConfig['listeners'][number];
export type TlsConfig = NonNullable<ListenerConfig['tls']>;
export type AuthConfig = StarlingConfig['auth'];
export type LimitsConfig = StarlingConfig['limits'];
export type MqttConfig = StarlingConfig['mqtt'];
export type LogConfig = StarlingConfig['log'];
export type PersistenceConfig = StarlingConfig['persistence'];
export type SysConfig = StarlingConfig['sys'];
export type HttpConfig = StarlingConfig['http'];
export type BridgeConfig = StarlingConfig['bridges'][number];
export type ClusterConfig = StarlingConfig['cluster'];
