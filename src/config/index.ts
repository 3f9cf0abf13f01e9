// The configuration module's public face: what the CLI uses to load, print, reload and
// convert configuration. See docs/configuration.md (generated from schema.ts).

export { ConfigError, formatOrigin, formatProblem, type ConfigProblem, type Origin } from './errors.js';
export { AUTH_FILE_KEYS, authFiles, authOptions, defaultConfig, loadConfig, toBrokerOptions, type BrokerSetup, type LoadOptions, type LoadedConfig } from './load.js';
export { CONFIG_FILE_ENV, type CliFlags } from './overrides.js';
export { printConfig } from './print.js';
export { REDACTED, redactSecrets } from './redact.js';
export { diffConfig, formatDiff, type ConfigChange, type ConfigDiff } from './diff.js';
export { fromMosquitto, type ConversionNote, type MosquittoConversion, type Unconverted } from './mosquitto.js';
export type {
  AuthConfig,
  LimitsConfig,
  ListenerConfig,
  LogConfig,
  MqttConfig,
  HttpConfig,
  PersistenceConfig,
  StarlingConfig,
  SysConfig,
  TlsConfig,
} from './schema.js';
