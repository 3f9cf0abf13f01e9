#!/usr/bin/env python3
"""Eclipse Paho (Python) as a client of Starling, driven by test/interop/paho.test.ts.

Two roles, each printing one JSON object per line on stdout for the test to parse:

  sub: connect, subscribe, print {"event": "subscribed"}, then one {"event": "message"} per
       message until --count arrived (then listen --linger seconds more for duplicates),
       then {"event": "done"}.
  pub: connect, publish one message with the given properties, wait for the last
       acknowledgement (PUBACK, or PUBCOMP for QoS 2), print {"event": "published"}.

Works with paho-mqtt 1.x and 2.x (2.x needs CallbackAPIVersion; the callbacks take *args
because their arity differs between versions and protocol levels).
Exit status: 0 done, 3 timed out, 4 refused.
"""

import argparse
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def emit(event, **fields):
    print(json.dumps(dict(event=event, **fields)), flush=True)


def code(value):
    """An int from a paho reason code (ReasonCodes in 1.x, ReasonCode in 2.x) or an int."""
    return int(value.value) if hasattr(value, "value") else int(value)


def props_json(props):
    if props is None:
        return {}
    out = {}
    for name in props.names.keys():
        key = name.replace(" ", "")
        if not hasattr(props, key):
            continue
        value = getattr(props, key)
        if isinstance(value, bytes):
            value = {"hex": value.hex()}
        elif isinstance(value, list):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[key] = value
    return out


def make_client(args):
    v5 = args.version == 5
    kwargs = {"client_id": args.client_id, "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311}
    if not v5:
        kwargs["clean_session"] = not args.persistent
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
    return mqtt.Client(**kwargs)


def connect(client, args):
    connected = threading.Event()
    result = {}

    def on_connect(*cb):
        flags = cb[2]
        result["rc"] = code(cb[3])
        if isinstance(flags, dict):
            result["session_present"] = bool(flags.get("session present"))
        else:
            result["session_present"] = bool(getattr(flags, "session_present", False))
        connected.set()

    client.on_connect = on_connect
    if args.version == 5:
        props = Properties(PacketTypes.CONNECT)
        if args.persistent:
            props.SessionExpiryInterval = 300
        client.connect(args.host, args.port, keepalive=10, clean_start=not args.persistent, properties=props)
    else:
        client.connect(args.host, args.port, keepalive=10)
    client.loop_start()
    if not connected.wait(args.timeout):
        emit("timeout", waiting_for="connack")
        sys.exit(3)
    emit("connack", rc=result["rc"], session_present=result["session_present"])
    if result["rc"] != 0:
        sys.exit(4)


def run_sub(args):
    client = make_client(args)
    messages = []
    enough = threading.Event()
    subacks = {}
    suback_event = threading.Event()

    def on_message(_client, _userdata, msg):
        entry = {
            "topic": msg.topic,
            "payload_hex": msg.payload.hex(),
            "qos": msg.qos,
            "retain": bool(msg.retain),
            "dup": bool(msg.dup),
            "properties": props_json(getattr(msg, "properties", None)) if args.version == 5 else {},
        }
        messages.append(entry)
        emit("message", **entry)
        if len(messages) >= args.count:
            enough.set()

    def on_subscribe(*cb):
        granted = cb[3] if len(cb) > 3 else []
        subacks[cb[2]] = [code(g) for g in granted]
        suback_event.set()

    client.on_message = on_message
    client.on_subscribe = on_subscribe
    connect(client, args)

    for spec in args.sub:
        parts = spec.split(",")
        topic_filter = parts[0]
        qos = int(parts[1]) if len(parts) > 1 else 0
        properties = None
        if len(parts) > 2 and args.version == 5:
            properties = Properties(PacketTypes.SUBSCRIBE)
            properties.SubscriptionIdentifier = int(parts[2])
        suback_event.clear()
        if properties is not None:
            _rc, mid = client.subscribe(topic_filter, qos, properties=properties)
        else:
            _rc, mid = client.subscribe(topic_filter, qos)
        deadline = time.monotonic() + args.timeout
        while mid not in subacks:
            if time.monotonic() > deadline:
                emit("timeout", waiting_for="suback")
                sys.exit(3)
            suback_event.wait(0.05)
        emit("suback", filter=topic_filter, granted=subacks[mid])
    emit("subscribed")

    if not enough.wait(args.timeout):
        emit("timeout", waiting_for="messages", received=len(messages))
        sys.exit(3)
    time.sleep(args.linger)
    emit("done", received=len(messages))
    client.disconnect()
    client.loop_stop()


def run_pub(args):
    client = make_client(args)
    connect(client, args)
    properties = None
    if args.version == 5:
        properties = Properties(PacketTypes.PUBLISH)
        if args.response_topic is not None:
            properties.ResponseTopic = args.response_topic
        if args.correlation_hex is not None:
            properties.CorrelationData = bytes.fromhex(args.correlation_hex)
        if args.user_property:
            properties.UserProperty = [tuple(p.split("=", 1)) for p in args.user_property]
        if args.content_type is not None:
            properties.ContentType = args.content_type
        if args.expiry is not None:
            properties.MessageExpiryInterval = args.expiry
        if args.payload_format is not None:
            properties.PayloadFormatIndicator = args.payload_format
    payload = bytes.fromhex(args.payload_hex) if args.payload_hex is not None else args.payload.encode()
    if properties is not None:
        info = client.publish(args.topic, payload, args.qos, args.retain, properties=properties)
    else:
        info = client.publish(args.topic, payload, args.qos, args.retain)
    info.wait_for_publish(args.timeout)
    if not info.is_published():
        emit("timeout", waiting_for="publish acknowledgement")
        sys.exit(3)
    emit("published", mid=info.mid, qos=args.qos)
    client.disconnect()
    client.loop_stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=["sub", "pub"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--version", type=int, choices=[4, 5], default=5, help="4 = MQTT 3.1.1, 5 = MQTT 5.0")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--persistent", action="store_true", help="clean start 0 (5.0: session expiry 300 s)")
    parser.add_argument("--timeout", type=float, default=5.0)
    # sub
    parser.add_argument("--sub", action="append", default=[], help="FILTER[,QOS[,SUBSCRIPTION_ID]], repeatable")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--linger", type=float, default=0.0)
    # pub
    parser.add_argument("--topic")
    parser.add_argument("--payload", default="")
    parser.add_argument("--payload-hex")
    parser.add_argument("--qos", type=int, default=0)
    parser.add_argument("--retain", action="store_true")
    parser.add_argument("--response-topic")
    parser.add_argument("--correlation-hex")
    parser.add_argument("--user-property", action="append", default=[], help="KEY=VALUE, repeatable, in order")
    parser.add_argument("--content-type")
    parser.add_argument("--expiry", type=int)
    parser.add_argument("--payload-format", type=int)
    args = parser.parse_args()
    if args.role == "sub":
        run_sub(args)
    else:
        run_pub(args)


if __name__ == "__main__":
    main()
