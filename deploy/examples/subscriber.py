#!/usr/bin/python3
"""A downstream subscriber: reads one table's change topic and prints each change as one JSON line.

The starting point for teams that consume our topics with their own code (the contract is
schemas/README.md). Needs Debian's python3-confluent-kafka and python3-avro (the /usr/bin/python3
ones). Avro schemas come from the embedded registry: the schemas topic (default _cdc_schemas),
read from the beginning and indexed by schema id; JSON events need no schema.

    deploy/examples/subscriber.py --bootstrap 127.0.0.1:9092 --topic cdc.main.ORDERS --from-beginning

Each output line:
    {"topic": ..., "partition": 0, "offset": 12, "op": "u", "table": "main.ORDERS", "seq": 42,
     "source_ts": "2026-12-01T10:00:00.123000Z", "key": {...}, "before": {...}, "after": {...}}
"before" is the old row for a delete, and for an update of a table captured with before_image
(null for other updates); "after" the new row. Values follow the JSON column of the contract's
type table in both formats: decimals as exact strings, bytes as base64, timestamps as ISO-8601
text. Tombstones (the null value after a delete)
carry no change and are skipped unless --tombstones is given.

Options: --group G subscribes as consumer group G (committing offsets, resuming where it stopped);
without it the topic's partitions are assigned directly and nothing is committed.
--exit-at-end stops once every partition is read to its end (for scripts and tests).
"""
import argparse
import base64
import decimal
import io
import json
import signal
import struct
import sys
import time
import uuid

import avro.io
import avro.schema
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

# Dates and timestamps are read as their numbers (python's datetime holds neither years past 9999
# nor BC, nor the infinity sentinels): their logical type is moved aside before the schema is
# parsed and the converter below renders them as the contract's text.
TEMPORAL = ("date", "timestamp-micros", "local-timestamp-micros")
INFINITY = {2147483647: "infinity", -2147483648: "-infinity",
            9223372036854775807: "infinity", -9223372036854775808: "-infinity"}
MICROS_PER_DAY = 86400 * 1000000


def iso_date(days):
    """Days since 1970-01-01 as the contract's date text: proleptic Gregorian, astronomical
    years, ISO 8601's expanded form past 9999 and before year 0."""
    z = days + 719468  # days since 0000-03-01
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    if year > 9999:
        text = "+%d" % year
    elif year < 0:
        text = "-%04d" % -year
    else:
        text = "%04d" % year
    return "%s-%02d-%02d" % (text, month, day)


def iso_micros(micros, utc):
    """Microseconds since the epoch as the contract's JSON timestamp text."""
    days, rest = divmod(micros, MICROS_PER_DAY)
    seconds, fraction = divmod(rest, 1000000)
    text = "%sT%02d:%02d:%02d" % (iso_date(days), seconds // 3600, seconds // 60 % 60, seconds % 60)
    if fraction:
        text += ".%06d" % fraction
    return text + ("Z" if utc else "")


def shortest_float32(value):
    """A 32-bit float as the shortest decimal that reads back to it (the contract's form)."""
    exact = struct.pack(">f", value)
    for digits in range(1, 10):
        candidate = float("%.*g" % (digits, value))
        try:
            if struct.pack(">f", candidate) == exact:
                return candidate
        except OverflowError:  # rounded past the largest float
            continue
    return value


def without_temporal_types(node):
    """The schema JSON with each temporal logicalType moved to "cdc.temporal"."""
    if isinstance(node, dict):
        node = {k: without_temporal_types(v) for k, v in node.items()}
        if node.get("logicalType") in TEMPORAL:
            node["cdc.temporal"] = node.pop("logicalType")
        return node
    if isinstance(node, list):
        return [without_temporal_types(v) for v in node]
    return node


def logical_type(schema):
    props = getattr(schema, "other_props", None) or {}
    return props.get("cdc.temporal") or getattr(schema, "logical_type", None) or props.get("logicalType")


def to_json(value, schema):
    """An Avro-decoded value as the contract's JSON representation."""
    if value is None:
        return None
    if isinstance(schema, avro.schema.UnionSchema):
        for branch in schema.schemas:
            if branch.type != "null":
                return to_json(value, branch)
    kind = logical_type(schema)
    if kind in TEMPORAL:
        if value in INFINITY:
            return INFINITY[value]
        return iso_date(value) if kind == "date" else iso_micros(value, utc=kind == "timestamp-micros")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, float) and getattr(schema, "type", None) == "float":
        return shortest_float32(value)
    if isinstance(schema, avro.schema.RecordSchema) and isinstance(value, dict):
        # Source names (property cdc.column) as in the JSON format.
        return {
            field.other_props.get("cdc.column", field.name): to_json(value.get(field.name), field.type)
            for field in schema.fields
        }
    return value


class SchemaIndex:
    """The embedded registry: schema id -> parsed schema, from the schemas topic."""

    def __init__(self, bootstrap, topic):
        self.topic = topic
        self.schemas = {}
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "subscriber-schemas",
                                  "enable.auto.commit": False, "enable.partition.eof": True})
        metadata = self.consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions if topic in metadata.topics else {}
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self.partitions = len(partitions)
        self.read_to_end()

    def read_to_end(self):
        at_end = set()
        while len(at_end) < self.partitions:
            message = self.consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                    continue
                raise RuntimeError("schemas topic: %s" % message.error())
            if message.value() is None:
                continue
            entry = json.loads(message.value())
            schema = without_temporal_types(json.loads(entry["schema"]))
            self.schemas[int(entry["id"])] = avro.schema.parse(json.dumps(schema))

    def get(self, schema_id):
        deadline = time.monotonic() + 30
        while schema_id not in self.schemas:  # registered after we last looked: read on
            if time.monotonic() > deadline:
                raise RuntimeError("schema id %d is not in %s" % (schema_id, self.topic))
            self.read_to_end()
        return self.schemas[schema_id]


def decode(raw, schemas):
    """Key or value bytes (Avro with the Confluent framing, or JSON) as JSON-ready data."""
    if raw is None:
        return None
    if raw[:1] == b"\x00" and len(raw) >= 5:
        schema_id = struct.unpack(">I", raw[1:5])[0]
        schema = schemas.get(schema_id)
        record = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(raw[5:])))
        return to_json(record, schema)
    return json.loads(raw)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--topic", required=True, help="a table's topic, e.g. cdc.main.ORDERS")
    parser.add_argument("--group", help="consumer group (default: no group, nothing committed)")
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest event")
    parser.add_argument("--schemas-topic", default="_cdc_schemas", help="the embedded registry topic")
    parser.add_argument("--tombstones", action="store_true", help="also print tombstones")
    parser.add_argument("--exit-at-end", action="store_true", help="stop at the end of the topic")
    args = parser.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    schemas = None  # loaded on the first Avro message
    config = {"bootstrap.servers": args.bootstrap, "enable.partition.eof": True,
              "group.id": args.group or "subscriber-no-group", "enable.auto.commit": bool(args.group),
              "auto.offset.reset": "earliest" if args.from_beginning else "latest"}
    consumer = Consumer(config)
    assigned = set()
    if args.group:
        consumer.subscribe([args.topic], on_assign=lambda c, ps: assigned.update(p.partition for p in ps))
    else:
        metadata = consumer.list_topics(args.topic, timeout=10)
        if args.topic not in metadata.topics or metadata.topics[args.topic].error:
            sys.exit("subscriber: topic %s not found" % args.topic)
        start = OFFSET_BEGINNING if args.from_beginning else -1  # -1 = end
        partitions = [TopicPartition(args.topic, p, start) for p in metadata.topics[args.topic].partitions]
        consumer.assign(partitions)
        assigned.update(p.partition for p in partitions)

    at_end = set()
    out = sys.stdout
    while not stop:
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition())
                if args.exit_at_end and assigned and at_end >= assigned:
                    break
                continue
            print("subscriber: %s" % message.error(), file=sys.stderr)
            continue
        at_end.discard(message.partition())
        raw = message.value()
        if raw is None and not args.tombstones:
            continue
        if schemas is None and b"\x00" in (raw[:1] if raw else b"", (message.key() or b"")[:1]):
            schemas = SchemaIndex(args.bootstrap, args.schemas_topic)
        headers = {k: (v.decode() if v is not None else None) for k, v in (message.headers() or [])}
        value = decode(raw, schemas)
        line = {"topic": message.topic(), "partition": message.partition(), "offset": message.offset(),
                "op": headers.get("cdc.op"), "table": headers.get("cdc.table"),
                "seq": int(headers["cdc.seq"]) if headers.get("cdc.seq") else None,
                "source_ts": headers.get("cdc.source_ts"),
                "key": decode(message.key(), schemas)}
        if value is None:
            line["tombstone"] = True
        else:
            line["before"], line["after"] = value.get("before"), value.get("after")
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    consumer.close()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        sys.exit(0)
