// The `listeners[].mqttSn` section of the config schema (src/config/schema.ts includes it):
// the MQTT-SN gateway's keys, their defaults and ranges, from options.ts.

import type { ObjectSpec } from '../../config/spec.js';
import { MQTT_SN_DEFAULTS as D, PREDEFINED_TOPICS_PATTERN } from './options.js';

export const MQTT_SN_SCHEMA = {
  type: 'object',
  optional: true,
  description: 'The MQTT-SN gateway of an `mqtt-sn` listener (and only of those); see docs/mqtt-sn.md.',
  fields: {
    gatewayId: { type: 'integer', min: 0, max: 255, default: D.gatewayId, reload: 'restart', description: 'GwId sent in ADVERTISE and GWINFO.' },
    advertiseInterval: {
      type: 'integer',
      min: 0,
      max: 65_535,
      unit: 's',
      default: D.advertiseInterval,
      reload: 'restart',
      description: 'Seconds between ADVERTISE broadcasts to `advertiseTo` (also the Duration they announce); 0 sends none.',
    },
    advertiseTo: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none: no ADVERTISE',
      pattern: { regex: /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, expected: 'host:port or [IPv6]:port' },
      description: 'Where ADVERTISE goes: a broadcast (`255.255.255.255:1884`) or multicast address and port. SEARCHGW is answered with GWINFO either way.',
    },
    retryInterval: {
      type: 'integer',
      min: 10,
      unit: 'ms',
      default: D.retryInterval,
      reload: 'restart',
      description: 'Tretry: an unacknowledged PUBLISH (QoS 1, 2), PUBREL or REGISTER to a client is sent again after this long.',
    },
    maxRetries: {
      type: 'integer',
      min: 0,
      max: 100,
      default: D.maxRetries,
      reload: 'restart',
      description: 'Nretry: sends after the first; when they are all unanswered the client is taken as lost and its will goes out.',
    },
    predefinedTopics: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none',
      pattern: { regex: PREDEFINED_TOPICS_PATTERN, expected: 'id=topic pairs separated by commas, ids from 1 to 65535, topics without + or #' },
      description:
        'Predefined topic ids, known to the gateway and its clients beforehand: `1=sensors/temp, 2=actuators/valve`. Clients publish and subscribe to them by id without REGISTER; deliveries on these topics use the id.',
    },
    allowQosMinus1: {
      type: 'boolean',
      default: D.allowQosMinus1,
      reload: 'restart',
      description:
        'Accept QoS -1 PUBLISH (from clients that never connect) to predefined topic ids and short topic names. They are authorized as client `qos-1:{address}:{port}`; anyone who can send a datagram here can publish.',
    },
    username: {
      type: 'string',
      reload: 'restart',
      defaultText: 'none: the client id alone identifies the client',
      description: 'The user name the authenticate hooks and the ACL file see for this listener\'s clients (MQTT-SN has none); `%c` stands for the client id.',
    },
    maxClients: {
      type: 'integer',
      min: 1,
      default: D.maxClients,
      reload: 'restart',
      description: 'Gateway clients at once on this listener (connecting, active or asleep); one more CONNECT gets CONNACK 0x01 (congestion) and counts in `starling_limit_hits_total{limit="connections"}`.',
    },
    maxDatagramSize: {
      type: 'integer',
      min: 64,
      max: 65_535,
      unit: 'bytes',
      default: D.maxDatagramSize,
      reload: 'restart',
      description: 'Largest datagram read (a larger one is dropped and counted) or sent (a larger message is not delivered to the client, as for an MQTT client\'s Maximum Packet Size).',
    },
    maxDatagramRate: {
      type: 'integer',
      min: 0,
      default: D.maxDatagramRate,
      reload: 'restart',
      description: 'Datagrams per second from one source address, burst one second\'s worth; the rest are dropped and counted. 0 means unlimited.',
    },
    maxSleepBuffer: {
      type: 'integer',
      min: 0,
      default: D.maxSleepBuffer,
      reload: 'restart',
      description: 'QoS 0 messages held for one sleeping client until it wakes; beyond it they are dropped and counted. QoS 1 and 2 messages wait in its session\'s queue (`limits.maxQueuedMessages`).',
    },
    maxTopicIds: {
      type: 'integer',
      min: 1,
      max: 65_535,
      default: D.maxTopicIds,
      reload: 'restart',
      description: 'Topic ids one client may hold: its REGISTERs and SUBSCRIBEs by name, and the gateway\'s REGISTERs. Beyond it REGISTER and SUBSCRIBE get 0x01 (congestion).',
    },
    receiveBufferSize: {
      type: 'integer',
      min: 4096,
      unit: 'bytes',
      default: D.receiveBufferSize,
      reload: 'restart',
      description:
        'The UDP socket\'s receive buffer: datagrams that arrive while the broker is busy wait here, and beyond it the kernel drops them (UDP has no flow control). Linux caps it at `net.core.rmem_max`.',
    },
    sendWindow: {
      type: 'integer',
      min: 1,
      max: 65_535,
      default: D.sendWindow,
      reload: 'restart',
      description: 'QoS 1 and 2 deliveries to one client unacknowledged at once. The specification assumes 1 (one transaction at a time); more is faster for clients that allow it.',
    },
  },
} as const satisfies ObjectSpec;
