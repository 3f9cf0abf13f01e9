// The configuration schema: every key Starling reads, as data. It is the single source for
// validation (validate.ts), environment variable names (keys.ts), what SIGHUP can apply (diff.ts), the
// StarlingConfig type, and docs/configuration.md (docs.ts, checked by a test).
//
// A key's description says what it does and why one would change it; its default, type,
// range and reload behaviour are fields beside it, so the docs never repeat them by hand.

import { BACKOFF_DEFAULTS } from '../auth/backoff.js';
import { LOGIN_DEFAULTS } from '../auth/login-guard.js';
import { DEFAULT_LIMITS } from '../broker/types.js';
import type { ObjectSpec, ObjectValue } from './spec.js';

export type { BooleanSpec, EnumSpec, IntegerSpec, LeafSpec, ListSpec, ObjectSpec, Reload, Spec, StringSpec } from './spec.js';

export const LISTENER_TYPES = ['tcp', 'tls', 'ws', 'wss', 'unix'] as const;
export type ListenerType = (typeof LISTENER_TYPES)[number];

/** The port a listener of each kind takes when none is given. */
export const DEFAULT_PORTS: Readonly<Record<Exclude<ListenerType, 'unix'>, number>> = Object.freeze({
  tcp: 1883,
  tls: 8883,
  ws: 8083,
  wss: 8084,
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
        '`tcp` plain MQTT; `tls` MQTT over TLS; `ws` MQTT over WebSocket; `wss` WebSocket over TLS; `unix` a Unix domain socket at `path`.',
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
      defaultText: `${DEFAULT_PORTS.tcp} (tcp), ${DEFAULT_PORTS.tls} (tls), ${DEFAULT_PORTS.ws} (ws), ${DEFAULT_PORTS.wss} (wss); not for unix`,
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
      description: 'Time allowed for each step before MQTT starts: PROXY header, TLS handshake, WebSocket upgrade.',
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
          description: 'With `store: redis`: the Redis URL (`redis://[user:password@]host:port[/db]`). How safe an acknowledged message is rests on its `appendfsync` (docs/durability.md).',
        },
        node: {
          type: 'string',
          defaultText: 'the host name',
          reload: 'restart',
          description: 'With `store: redis`: this broker\'s node name, the same across its restarts (it finds its sessions under it) and different from every other node sharing the Redis.',
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
      description: 'The operations HTTP server: Prometheus `/metrics`, `/healthz`, `/readyz` and the admin API under `/api/v1/` (docs/operations.md, docs/admin-api.yaml).',
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
