// What a listener is and what it hands the broker: the options of each listener kind, the
// description of an open listener, what the transport proved about a client, and the
// broker's side of the exchange (an acceptor of streams). The broker imports these types and
// never a transport itself.

import type { Duplex } from 'node:stream';
import type { Limits } from '../broker/types.js';
import type { Logger } from 'pino';
import type { MqttSnOptions } from '../gateway/mqtt-sn/options.js';

export interface ListenerOptions {
  /**
   * The transport. Default 'tcp'. Each kind is built in src/transport/ and only hands the
   * broker a byte stream: the broker cannot tell them apart.
   * - 'tcp': plain MQTT over TCP.
   * - 'tls': MQTT over TLS (certFile and keyFile required).
   * - 'ws': MQTT over WebSocket (binary frames, subprotocol "mqtt").
   * - 'wss': MQTT over WebSocket over TLS (the TLS options as for 'tls').
   * - 'unix': a Unix domain socket at `path` (counts as local for allowAnonymous).
   * - 'mqtt-sn': an MQTT-SN v1.2 gateway on UDP (src/gateway/mqtt-sn/); its clients are
   *   sessions of this broker, not streams.
   */
  type?: 'tcp' | 'tls' | 'ws' | 'wss' | 'unix' | 'mqtt-sn';
  /** Default 1883 (tcp), 8883 (tls), 8083 (ws), 8084 (wss). 0 picks a free port. Not for unix. */
  port?: number;
  /** Default 127.0.0.1: a fresh broker is reachable from this machine only. Not for unix. */
  host?: string;
  /** unix only: the socket file (required); a stale one is removed at open, ours at close. */
  path?: string;
  /** ws, wss only: the URL path WebSocket clients connect to. Default '/mqtt'. */
  websocketPath?: string;
  /** A name for logs and hooks; default `{type}:{host}:{port}` (`unix:{path}`). */
  name?: string;
  /**
   * Open connections on this listener (counting those not yet past CONNECT); a CONNECT
   * beyond it is refused with 0x89 Server busy (3.1.1: 0x03). 0 = unlimited. Default 0.
   */
  maxConnections?: number;
  /**
   * Anonymous clients (no user name, no authenticate hook allowing them). Default: allowed
   * only when the listener is bound to a loopback address or is a Unix socket.
   */
  allowAnonymous?: boolean;

  // TLS ('tls' and 'wss').
  /** PEM certificate chain file (server certificate first). Required for tls and wss. */
  certFile?: string;
  /** PEM private key file. Required for tls and wss. */
  keyFile?: string;
  /** PEM file of the CAs that sign client certificates. Setting it asks clients for one. */
  caFile?: string;
  /**
   * Refuse clients without a certificate signed by caFile. Default false, or true when
   * certificateAsUsername is set (a user name from a certificate needs a certificate).
   */
  requireCertificate?: boolean;
  /**
   * The verified client certificate's identity becomes the client's user name: 'cn' the
   * subject's Common Name, 'san' its first Subject Alternative Name (DNS, email, URI or IP).
   * A certificate without one is refused. Default: the CONNECT user name is used.
   */
  certificateAsUsername?: 'cn' | 'san';
  /** Lowest TLS version accepted. Default 'TLSv1.2'. */
  minVersion?: 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1' | 'TLSv1';
  /** OpenSSL cipher list for TLS 1.2 and lower. Default: Node's. */
  ciphers?: string;
  /**
   * File of the 48-byte session ticket keys (created, mode 0600, when missing), so that
   * tickets stay valid across restarts and workers. Default: random keys per process, or
   * `ticketKeys`.
   */
  ticketKeyFile?: string;
  /** Seconds a TLS session stays resumable. Default 7200 (OpenSSL's; Node's would be 300). */
  sessionTimeout?: number;
  /** Ticket keys (48 bytes) when no ticketKeyFile is set: what --workers gives every worker. */
  ticketKeys?: Buffer;

  // Before the stream reaches the broker.
  /**
   * tcp, tls, ws, wss: every connection starts with a PROXY protocol v1 or v2 header (from a
   * load balancer such as HAProxy or AWS NLB), whose source address becomes the client's
   * remote address. A connection without a valid header is closed. Default false: enable
   * it only behind a proxy, since any client could otherwise claim any address.
   */
  proxyProtocol?: boolean;
  /**
   * Time allowed for each step before the stream reaches the broker (PROXY header, TLS
   * handshake, WebSocket upgrade request), ms. Default 10,000.
   */
  handshakeTimeout?: number;
  /**
   * ws, wss: largest WebSocket message accepted, bytes (a larger one closes the connection
   * with 1009). Keep it at least limits.maxPacketSize. Default 1 MiB.
   */
  maxFrameSize?: number;
  /**
   * ws, wss: origins (`https://app.example`) whose pages may open a session on a listener
   * that allows anonymous clients, besides loopback origins and the listener's own host;
   * `*` allows any. A browser upgrade from another origin is refused (403) there. Requests
   * without an Origin header (programs, not pages) are not checked. Default none.
   */
  allowedOrigins?: readonly string[];
  /** mqtt-sn only: the gateway's settings (src/gateway/mqtt-sn/options.ts). */
  mqttSn?: MqttSnOptions;
}

export interface ListenerInfo {
  readonly type: NonNullable<ListenerOptions['type']>;
  readonly name: string;
  /** The bound address; for a unix listener, the socket file's path. */
  readonly host: string;
  /** The bound port; 0 for a unix listener. */
  readonly port: number;
  /** unix: the socket file. */
  readonly path?: string;
  /** ws, wss: the URL path WebSocket clients connect to. */
  readonly websocketPath?: string;
  /**
   * Whether anonymous clients are accepted. As a connection sees it (the authenticate hook's
   * `listener`), false for a client the transport found not to be local (a PROXY header or a
   * WebSocket forwarding header names another host) when the listener allows anonymous
   * clients only by default, for being on loopback.
   */
  readonly allowAnonymous: boolean;
}

/** A client's identity as its transport established it: a verified TLS client certificate. */
export interface PeerIdentity {
  /** The certificate's subject, e.g. `CN=device-42, O=Acme` (in the certificate's order). */
  readonly certificateSubject?: string | undefined;
  /**
   * Set when the listener has certificateAsUsername: the CN or first SAN. The client's user
   * name is this, whatever its CONNECT says.
   */
  readonly certificateUsername?: string | undefined;
}

/**
 * `info` is the listener's description as this connection sees it: for a client the
 * transport found not to be local (a PROXY header or a forwarding header names another
 * host) on a listener anonymous only because it is on loopback, allowAnonymous is false.
 */
export type OnStream = (stream: Duplex, info: ListenerInfo, remoteAddress: string, peer?: PeerIdentity) => void;

export interface Listener {
  /** Valid once open() resolved. */
  readonly info: ListenerInfo;
  open(): Promise<void>;
  /** Stops accepting; connections already handed over are the broker's to close. */
  close(): Promise<void>;
  /**
   * tls, wss: re-reads certFile, keyFile and caFile for new connections; open ones are kept.
   * Rejects (and keeps the old certificates) when a file is unreadable or invalid.
   */
  reloadCertificates?(): Promise<void>;
}

/** The broker's side of a listener: where streams go, and what a listener may read of the broker. */
export interface ListenerHost {
  /** Hands one client's byte stream to the broker as a connection. */
  accept(stream: Duplex, info: ListenerInfo, remoteAddress: string, peer?: PeerIdentity): unknown;
  /** The broker's limits (a WebSocket listener's frame cap follows limits.maxPacketSize). */
  readonly limits: Readonly<Limits>;
  readonly log: Logger;
}

/** Builds a listener of one kind; `open()` starts it. */
export type ListenerFactory = (options: ListenerOptions, host: ListenerHost) => Listener;
