// Cross-check against scapy's MQTT-SN layers (scapy.contrib.mqttsn, Debian python3-scapy), an
// independent reading of the same specification. For every valid fixture, in one python
// process for the whole table:
// - scapy parses our encoding to the fields we expect (`ours -> scapy`);
// - scapy builds the same message from those fields and our decoder reads it back to the
//   fixture's message (`scapy -> ours`).
// Where the two readings differ, the difference is listed in KNOWN with who is right per the
// specification; the test fails on any disagreement not listed, and on a listed one that has
// gone away (so the list stays true).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { decode, encode } from '../../../src/gateway/mqtt-sn/codec.js';
import { MsgType, type Datagram, type Message } from '../../../src/gateway/mqtt-sn/types.js';
import { findPythonWith, have, type Tool } from '../../helpers/tools.js';
import { VALID } from './fixtures.js';

function findPythonWithScapy(): Tool {
  return findPythonWith('scapy, scapy.contrib.mqttsn', 'scapy.VERSION', 'python3 with scapy', 'apt-get install python3-scapy');
}

type Value = number | { hex: string };
interface Layer {
  type: number;
  cls: string;
  fields: Record<string, Value>;
}
interface Spec extends Layer {
  inner?: Layer;
}

const hex = (b: Buffer): { hex: string } => ({ hex: b.toString('hex') });
const str = (s: string): { hex: string } => hex(Buffer.from(s, 'utf8'));
const flags = (f: { dup?: boolean; qos?: number; retain?: boolean; will?: boolean; cleansess?: boolean; tid_type?: number }): Record<string, number> => ({
  dup: f.dup ? 1 : 0,
  qos: f.qos === -1 ? 3 : (f.qos ?? 0),
  retain: f.retain ? 1 : 0,
  will: f.will ? 1 : 0,
  cleansess: f.cleansess ? 1 : 0,
  tid_type: f.tid_type ?? 0,
});
const TID = { normal: 0, predefined: 1, short: 2 } as const;

/** Our message as scapy's layer class and field values. */
function layerOf(m: Message): Layer {
  switch (m.type) {
    case 'advertise':
      return { type: MsgType.ADVERTISE, cls: 'MQTTSNAdvertise', fields: { gw_id: m.gwId, duration: m.duration } };
    case 'searchgw':
      return { type: MsgType.SEARCHGW, cls: 'MQTTSNSearchGW', fields: { radius: m.radius } };
    case 'gwinfo':
      return { type: MsgType.GWINFO, cls: 'MQTTSNGwInfo', fields: { gw_id: m.gwId, gw_addr: hex(m.gwAdd ?? Buffer.alloc(0)) } };
    case 'connect':
      return {
        type: MsgType.CONNECT,
        cls: 'MQTTSNConnect',
        fields: { ...flags({ will: m.will, cleansess: m.cleanSession }), prot_id: 1, duration: m.duration, client_id: str(m.clientId) },
      };
    case 'connack':
      return { type: MsgType.CONNACK, cls: 'MQTTSNConnack', fields: { return_code: m.returnCode } };
    case 'willtopicreq':
      return { type: MsgType.WILLTOPICREQ, cls: 'MQTTSNWillTopicReq', fields: {} };
    case 'willmsgreq':
      return { type: MsgType.WILLMSGREQ, cls: 'MQTTSNWillMsgReq', fields: {} };
    case 'pingresp':
      return { type: MsgType.PINGRESP, cls: 'MQTTSNPingResp', fields: {} };
    case 'willtopic':
    case 'willtopicupd':
      return {
        type: m.type === 'willtopic' ? MsgType.WILLTOPIC : MsgType.WILLTOPICUPD,
        cls: m.type === 'willtopic' ? 'MQTTSNWillTopic' : 'MQTTSNWillTopicUpd',
        fields: m.will === null ? {} : { ...flags({ qos: m.will.qos, retain: m.will.retain }), will_topic: str(m.will.topic) },
      };
    case 'willmsg':
      return { type: MsgType.WILLMSG, cls: 'MQTTSNWillMsg', fields: { will_msg: hex(m.payload) } };
    case 'willmsgupd':
      return { type: MsgType.WILLMSGUPD, cls: 'MQTTSNWillMsgUpd', fields: { will_msg: hex(m.payload) } };
    case 'register':
      return { type: MsgType.REGISTER, cls: 'MQTTSNRegister', fields: { tid: m.topicId, mid: m.msgId, topic_name: str(m.topicName) } };
    case 'regack':
      return { type: MsgType.REGACK, cls: 'MQTTSNRegack', fields: { tid: m.topicId, mid: m.msgId, return_code: m.returnCode } };
    case 'puback':
      return { type: MsgType.PUBACK, cls: 'MQTTSNPuback', fields: { tid: m.topicId, mid: m.msgId, return_code: m.returnCode } };
    case 'publish': {
      const tid = m.topic.type === 'short' ? Buffer.from(m.topic.name, 'utf8').readUInt16BE(0) : m.topic.id;
      return {
        type: MsgType.PUBLISH,
        cls: 'MQTTSNPublish',
        fields: { ...flags({ dup: m.dup, qos: m.qos, retain: m.retain, tid_type: TID[m.topic.type] }), tid, mid: m.msgId, data: hex(m.payload) },
      };
    }
    case 'pubrec':
      return { type: MsgType.PUBREC, cls: 'MQTTSNPubrec', fields: { mid: m.msgId } };
    case 'pubrel':
      return { type: MsgType.PUBREL, cls: 'MQTTSNPubrel', fields: { mid: m.msgId } };
    case 'pubcomp':
      return { type: MsgType.PUBCOMP, cls: 'MQTTSNPubcomp', fields: { mid: m.msgId } };
    case 'unsuback':
      return { type: MsgType.UNSUBACK, cls: 'MQTTSNUnsuback', fields: { mid: m.msgId } };
    case 'subscribe':
    case 'unsubscribe': {
      const t = m.topic;
      const topic: Record<string, Value> = t.type === 'normal' ? { topic_name: str(t.name) } : t.type === 'short' ? { short_topic: str(t.name) } : { tid: t.id };
      const f = m.type === 'subscribe' ? flags({ dup: m.dup, qos: m.qos, tid_type: TID[t.type] }) : flags({ tid_type: TID[t.type] });
      return {
        type: m.type === 'subscribe' ? MsgType.SUBSCRIBE : MsgType.UNSUBSCRIBE,
        cls: m.type === 'subscribe' ? 'MQTTSNSubscribe' : 'MQTTSNUnsubscribe',
        fields: { ...f, mid: m.msgId, ...topic },
      };
    }
    case 'suback':
      return { type: MsgType.SUBACK, cls: 'MQTTSNSuback', fields: { ...flags({ qos: m.qos }), tid: m.topicId, mid: m.msgId, return_code: m.returnCode } };
    case 'pingreq':
      return { type: MsgType.PINGREQ, cls: 'MQTTSNPingReq', fields: m.clientId === undefined ? {} : { client_id: str(m.clientId) } };
    case 'disconnect':
      return { type: MsgType.DISCONNECT, cls: 'MQTTSNDisconnect', fields: m.duration === undefined ? {} : { duration: m.duration } };
    case 'willtopicresp':
      return { type: MsgType.WILLTOPICRESP, cls: 'MQTTSNWillTopicResp', fields: { return_code: m.returnCode } };
    case 'willmsgresp':
      return { type: MsgType.WILLMSGRESP, cls: 'MQTTSNWillMsgResp', fields: { return_code: m.returnCode } };
  }
}

function specOf(d: Datagram): Spec {
  if (d.type !== 'encapsulated') return layerOf(d);
  return { type: MsgType.ENCAPSULATED, cls: 'MQTTSNEncaps', fields: { resvd: 0, radius: d.radius, w_node_id: hex(d.wirelessNodeId) }, inner: layerOf(d.message) };
}

// One process for the whole table: reads [{ours, spec}] as JSON, answers one result per case.
const SCRIPT = String.raw`
import json, sys
from scapy.packet import NoPayload, raw
import scapy.contrib.mqttsn as sn

def val(v):
    if isinstance(v, (bytes, bytearray)): return {"hex": bytes(v).hex()}
    return v

def arg(v):
    return bytes.fromhex(v["hex"]) if isinstance(v, dict) else v

def fields(layer):
    out = {}
    for f in layer.fields_desc:
        v = layer.getfieldval(f.name)
        if v is not None: out[f.name] = val(v)
    return out

def parsed(p):
    layer = p.payload
    if isinstance(layer, NoPayload):
        # A message with no fields after MsgType: scapy dissects no layer; name the bound one.
        return {"len": p.len, "type": p.type, "cls": p.guess_payload_class(b"").__name__, "fields": {}}
    r = {"len": p.len, "type": p.type, "cls": type(layer).__name__, "fields": fields(layer)}
    rest = layer.payload
    if isinstance(layer, sn.MQTTSNEncaps) and isinstance(rest, sn.MQTTSN):
        r["inner"] = parsed(rest)
        rest = rest.payload.payload
    if len(rest) > 0: r["rest"] = raw(rest).hex()
    return r

def build(spec):
    p = sn.MQTTSN(type=spec["type"]) / getattr(sn, spec["cls"])(**{k: arg(v) for k, v in spec["fields"].items()})
    if "inner" in spec:
        i = spec["inner"]
        p = p / sn.MQTTSN(type=i["type"]) / getattr(sn, i["cls"])(**{k: arg(v) for k, v in i["fields"].items()})
    return raw(p).hex()

out = []
for case in json.load(sys.stdin):
    r = {}
    try: r["parsed"] = parsed(sn.MQTTSN(bytes.fromhex(case["ours"])))
    except Exception as e: r["parseError"] = repr(e)
    if "wire" in case:
        try: r["wire"] = parsed(sn.MQTTSN(bytes.fromhex(case["wire"])))
        except Exception as e: r["wireError"] = repr(e)
    try: r["built"] = build(case["spec"])
    except Exception as e: r["buildError"] = repr(e)
    out.append(r)
json.dump(out, sys.stdout)
`;

interface Parsed {
  len: number;
  type: number;
  cls: string;
  fields: Record<string, Value>;
  inner?: Parsed;
  rest?: string;
}
interface Result {
  parsed?: Parsed;
  parseError?: string;
  /** scapy's reading of a decode-only fixture's own bytes. */
  wire?: Parsed;
  wireError?: string;
  built?: string;
  buildError?: string;
}

const FLAG_FIELDS = new Set(['dup', 'qos', 'retain', 'will', 'cleansess', 'tid_type']);
const withoutFlags = (f: Record<string, Value>): Record<string, Value> => Object.fromEntries(Object.entries(f).filter(([k]) => !FLAG_FIELDS.has(k)));

/**
 * Where scapy and we read the specification differently, and who is right. Keyed by fixture
 * name and direction; the value is why.
 */
const KNOWN: Record<string, string> = {
  // scapy writes Length 2 but still appends the absent Duration as 0x0000 ("02180000"): the
  // Length disagrees with the datagram. 5.4.21: a DISCONNECT without Duration is 2 octets; we
  // are right and refuse scapy's datagram (length-mismatch, 5.2.1).
  'DISCONNECT: scapy -> ours': 'scapy: Length 2 with a 2-octet Duration after it',
  // scapy's WILLTOPIC and WILLTOPICUPD always carry Flags, so it cannot build the empty message
  // that deletes the will (5.4.7, 5.4.22: "without Flags and WillTopic"); it writes a Flags
  // octet and an empty WillTopic ("030700"), which we read as a will with an empty topic. scapy
  // does parse the empty form (no fields); we are right per the specification.
  'WILLTOPIC empty (deletes the will): scapy -> ours': 'scapy cannot build the empty WILLTOPIC',
  'WILLTOPICUPD empty (deletes the will): scapy -> ours': 'scapy cannot build the empty WILLTOPICUPD',
};

test('scapy cross-check: scapy parses our encodings and we parse scapy\'s, for every valid fixture', (t) => {
  const python = findPythonWithScapy();
  if (!have(t, python)) return;
  t.diagnostic(`scapy ${python.version}`);
  // Decode-only fixtures (another valid form of the same message) are also given to scapy as
  // they are on the wire.
  const cases = VALID.map((c) => ({ ours: encode(c.message).toString('hex'), spec: specOf(c.message), ...(c.decodeOnly ? { wire: c.bytes.toString('hex') } : {}) }));
  const r = spawnSync(python.path!, ['-c', SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
  const results = JSON.parse(r.stdout) as Result[];
  assert.equal(results.length, VALID.length);

  const disagreements: Record<string, string> = {};
  VALID.forEach((c, i) => {
    const res = results[i]!;
    const spec = cases[i]!.spec;
    const ours = Buffer.from(cases[i]!.ours, 'hex');
    // ours -> scapy
    try {
      assert.ok(res.parsed, res.parseError);
      const lengthOf = (b: Buffer): number => (b[0] === 1 ? b.readUInt16BE(1) : b[0]!);
      assert.equal(res.parsed.len, lengthOf(ours), 'Length');
      const { inner, ...top } = spec;
      assert.deepEqual({ type: res.parsed.type, cls: res.parsed.cls, fields: res.parsed.fields }, top);
      if (inner) {
        assert.ok(res.parsed.inner, 'no inner message');
        assert.deepEqual({ type: res.parsed.inner.type, cls: res.parsed.inner.cls, fields: res.parsed.inner.fields }, inner);
      }
      assert.equal(res.parsed.rest ?? res.parsed.inner?.rest, undefined, 'octets left over');
    } catch (err) {
      disagreements[`${c.name}: ours -> scapy`] = (err as Error).message.split('\n')[0]!;
    }
    // the decode-only form -> scapy; flag bits the type does not use are ours to ignore, not scapy's
    if (c.decodeOnly) {
      try {
        assert.ok(res.wire, res.wireError);
        const { inner: _inner, ...top } = spec;
        assert.deepEqual({ type: res.wire.type, cls: res.wire.cls, fields: withoutFlags(res.wire.fields) }, { ...top, fields: withoutFlags(top.fields) });
        assert.equal(res.wire.rest, undefined, 'octets left over');
      } catch (err) {
        disagreements[`${c.name}: wire -> scapy`] = (err as Error).message.split('\n')[0]!;
      }
    }
    // scapy -> ours
    try {
      assert.ok(res.built !== undefined, res.buildError);
      assert.deepEqual(decode(Buffer.from(res.built, 'hex')), c.message, `scapy built ${res.built}`);
    } catch (err) {
      disagreements[`${c.name}: scapy -> ours`] = (err as Error).message.split('\n')[0]!;
    }
  });
  for (const [k, v] of Object.entries(disagreements)) t.diagnostic(`${k}: ${v}${KNOWN[k] ? ` (known: ${KNOWN[k]})` : ''}`);
  assert.deepEqual(Object.keys(disagreements).sort(), Object.keys(KNOWN).sort(), 'disagreements with scapy differ from the documented ones');
});
