// Mosquitto's options as the converter (mosquitto.ts) sees them: which are scoped to a
// listener, what each converted one becomes, and why the others are not converted. The docs'
// conversion tables are rendered from CONVERTED and NOT_CONVERTED.

/** Options that configure the current listener. */
export const LISTENER_SCOPED = new Set([
  'protocol', 'socket_domain', 'certfile', 'keyfile', 'cafile', 'require_certificate', 'use_identity_as_username',
  'tls_version', 'ciphers', 'listener_allow_anonymous', 'enable_proxy_protocol', 'max_connections', 'max_qos', 'max_topic_alias',
]);
/** Options that per_listener_settings makes listener-scoped. */
export const SECURITY = new Set(['allow_anonymous', 'password_file', 'acl_file']);

/** What each converted option becomes; docs/configuration.md shows this table. */
export const CONVERTED: Readonly<Record<string, string>> = {
  listener: '`listeners[]`: `port`, `host` (`0.0.0.0` when none is given: Mosquitto binds every address); port 0 with a path: `type: unix`',
  port: 'the default listener\'s `port`',
  bind_address: 'the default listener\'s `host`',
  socket_domain: '`host: 0.0.0.0` (ipv4) or `host: "::"` (ipv6) when the listener names no address',
  protocol: '`websockets`: `type: ws`, or `wss` with certfile; `mqtt`: `tcp`, or `tls` with certfile',
  certfile: '`tls.cert` (and the listener becomes tls or wss)',
  keyfile: '`tls.key`',
  cafile: '`tls.ca`',
  require_certificate: '`tls.requireCertificate`',
  use_identity_as_username: '`tls.certificateAsUsername: cn` (with `require_certificate true`)',
  tls_version: '`tls.minVersion` (Mosquitto 2 reads it as the lowest version, as Starling does)',
  ciphers: '`tls.ciphers`',
  enable_proxy_protocol: '`proxyProtocol: true`',
  allow_anonymous: '`allowAnonymous` on every listener, or on its listener with per_listener_settings; unset, `false` as in Mosquitto 2',
  listener_allow_anonymous: 'the listener\'s `allowAnonymous`',
  password_file: '`auth.passwordFile` (per listener only when every listener names the same file)',
  acl_file: '`auth.aclFile` (per listener only when every listener names the same file)',
  per_listener_settings: 'decides the scope of allow_anonymous, password_file and acl_file',
  persistence: '`persistence.store`: `sqlite` or `memory`',
  persistence_location: '`persistence.dataDir`',
  max_inflight_messages: '`limits.maxInflight` (0, no maximum: 65535)',
  max_queued_messages: '`limits.maxQueuedMessages` (0, no maximum: not converted, Starling bounds every queue)',
  max_queued_bytes: '`limits.maxQueuedBytes` (0, no maximum: not converted)',
  max_packet_size: '`limits.maxPacketSize`',
  message_size_limit: '`limits.maxPacketSize`, approximately: Mosquitto bounds the payload, Starling the whole packet',
  max_keepalive: '`limits.maxKeepAlive`',
  global_max_connections: '`limits.maxConnections` (-1: 0, unlimited)',
  max_connections: 'the listener\'s `maxConnections` (-1: unset, unlimited)',
  max_topic_alias: '`limits.topicAliasMaximum` when every listener has the same value',
  max_qos: '`mqtt.maximumQoS` when every listener has the same value',
  retain_available: '`mqtt.retainAvailable`',
};

/** Options reported as not converted, with the reason. */
export const NOT_CONVERTED: Readonly<Record<string, string>> = {
  include_dir: 'the files in that directory are not read: convert each and merge them into this file',
  log_dest: 'Starling logs JSON lines to stdout; set log.level, and redirect or ship stdout',
  log_type: 'Starling logs by level: set log.level (debug for Mosquitto\'s debug or all)',
  log_timestamp: 'every Starling log line has a time field',
  log_timestamp_format: 'every Starling log line has a time field (milliseconds since the epoch)',
  log_facility: 'Starling does not log to syslog',
  connection_messages: 'Starling logs connections at info level',
  pid_file: 'leave it to the service manager (systemd, Docker)',
  user: 'run Starling as the user it should run as',
  persistence_file: 'Starling keeps its own files in persistence.dataDir',
  autosave_interval: 'Starling writes as messages arrive: see persistence.durability',
  autosave_on_changes: 'Starling writes as messages arrive: see persistence.durability',
  capath: 'Starling reads one PEM file: concatenate the directory\'s certificates into tls.ca',
  crlfile: 'certificate revocation lists are not supported yet',
  dhparamfile: 'Node chooses the key exchange (ECDHE); DH parameters are not needed',
  'ciphers_tls1.3': 'TLS 1.3 cipher suites are not configurable yet',
  use_subject_as_username: 'Starling takes the CN or the first SAN (tls.certificateAsUsername), not the whole subject',
  psk_hint: 'TLS pre-shared keys are not supported',
  psk_file: 'TLS pre-shared keys are not supported',
  mount_point: 'mount points are not supported',
  http_dir: 'Starling serves no files over HTTP',
  websockets_origin: 'WebSocket origin checks are not supported yet',
  websockets_log_level: 'Starling logs by level: set log.level',
  websockets_headers_size: 'not configurable',
  packet_buffer_size: 'not configurable',
  accept_protocol_versions: 'every listener accepts MQTT 3.1, 3.1.1 and 5.0',
  bind_interface: 'bind the interface\'s address with the listener\'s host',
  use_username_as_clientid: 'not supported; an authenticate hook can enforce it',
  auto_id_prefix: 'not configurable',
  allow_zero_length_clientid: 'not configurable: Starling assigns an id to a client that sends an empty one, where MQTT allows it',
  clientid_prefixes: 'not supported; an authenticate hook can enforce it',
  max_topic_alias_broker: 'not configurable: Starling uses up to the Topic Alias Maximum each 5.0 client allows',
  proxy_protocol_v2_require_tls: 'not supported',
  plugin: 'Starling has hooks instead of plugins',
  global_plugin: 'Starling has hooks instead of plugins',
  auth_plugin: 'Starling has hooks instead of plugins',
  max_inflight_bytes: 'in-flight messages are bounded by count (limits.maxInflight)',
  queue_qos0_messages: 'not supported',
  upgrade_outgoing_qos: 'non-standard; not supported',
  allow_duplicate_messages: 'not configurable',
  sys_interval: '$SYS topics are not configurable yet',
  persistent_client_expiration: 'sessions expire by their Session Expiry Interval, capped by limits.maxSessionExpiry',
  memory_limit: 'bound the process with the service manager; Starling bounds queues (limits.*)',
  set_tcp_nodelay: 'Starling sets TCP_NODELAY on every socket',
  retain_expiry_interval: 'not configurable',
  check_retain_source: 'not supported',
  global_max_clients: 'not supported: bound connections with limits.maxConnections, sessions with limits.maxSessions and limits.maxSessionExpiry',
  enable_control_api: 'not supported',
  tls_engine: 'not supported',
  tls_keyform: 'not supported',
  tls_engine_kpass_sha1: 'not supported',
  disable_client_cert_date_checks: 'not supported',
};

/** Options of a `connection` section. */
export const BRIDGE_OPTIONS = new Set([
  'address', 'addresses', 'topic', 'cleansession', 'local_cleansession', 'idle_timeout', 'keepalive_interval',
  'local_clientid', 'local_password', 'local_username', 'notifications', 'notifications_local_only', 'notification_topic',
  'remote_clientid', 'remote_password', 'remote_username', 'restart_timeout', 'round_robin', 'start_type', 'threshold',
  'try_private', 'clientid', 'username', 'password',
]);

export const TLS_VERSIONS: Readonly<Record<string, string>> = { 'tlsv1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.1': 'TLSv1.1', tlsv1: 'TLSv1' };
