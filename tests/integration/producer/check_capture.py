#!/usr/bin/python3
"""An independent check of a captured topic (python3-confluent-kafka, not our Kafka code).

Reads every partition of TOPIC from the beginning to its current end and compares it with the
committed CDC_SEQ values listed in SEQS_FILE (one per line, read from the source's change table):

  missing           committed sequence numbers no change event carries
  unknown           change events whose sequence number was never committed (a phantom)
  order_violations  events of one key that went back in seq within their partition without
                    repeating an earlier event exactly (a restart may publish its checkpoint's
                    tail again: same seq, same op; anything else is a violation)

With --rows-file (a JSON object: id -> {"v", "note"}, the source table's rows at the end; the
topic in the JSON format), also:

  image_conflicts    two different row images of one key under one seq (an `r` event and a change
                     sharing a seq must carry the same row)
  state_differences  keys whose last event in the topic - what a subscriber applying events in
                     arrival order ends with - is not the source's row (or a row that exists
                     has no event, or a deleted one is still there)

Prints one JSON object with these counts and a few examples; exit status 0 either way (the
caller asserts). The order checks read headers only (cdc.seq, cdc.op).

  check_capture.py --bootstrap HOST:PORT --topic T --seqs-file FILE [--rows-file FILE]
"""
import argparse
import json
import sys

from confluent_kafka import Consumer, TopicPartition


def header(message, name):
    for key, value in message.headers() or []:
        if key == name:
            return value.decode() if value is not None else ""
    return ""


def read_all(bootstrap, topic):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "check-capture",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    metadata = consumer.list_topics(topic, timeout=30)
    partitions = sorted(metadata.topics[topic].partitions)
    ends = {}
    assignment = []
    for p in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
        ends[p] = high
        if high > low:
            assignment.append(TopicPartition(topic, p, low))
    consumer.assign(assignment)
    remaining = {tp.partition for tp in assignment}
    messages = []
    while remaining:
        message = consumer.poll(10)
        if message is None:
            raise SystemExit("check_capture: no message for 10 s before the end of the topic")
        if message.error():
            if message.error().code() == -191:  # _PARTITION_EOF
                remaining.discard(message.partition())
                continue
            raise SystemExit("check_capture: " + str(message.error()))
        messages.append(message)
        if message.offset() + 1 >= ends[message.partition()]:
            remaining.discard(message.partition())
    consumer.close()
    messages.sort(key=lambda m: (m.partition(), m.offset()))
    return messages


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--seqs-file", required=True)
    parser.add_argument("--rows-file")
    args = parser.parse_args()
    with open(args.seqs_file) as f:
        committed = {int(line) for line in f if line.strip()}

    messages = read_all(args.bootstrap, args.topic)
    seen = set()
    highest = {}
    repeated = set()
    violations = []
    counts = {"events": 0, "tombstones": 0, "r_events": 0, "repeats": 0}
    for m in messages:
        if m.value() is None:
            counts["tombstones"] += 1
            continue
        counts["events"] += 1
        seq = int(header(m, "cdc.seq"))
        op = header(m, "cdc.op")
        if op == "r":
            counts["r_events"] += 1
        else:
            seen.add(seq)
        key = (m.partition(), m.key())
        event = (m.partition(), m.key(), seq, op)
        if event in repeated:
            counts["repeats"] += 1
        elif key in highest and seq < highest[key]:
            violations.append("partition %d key %r: seq %d (%s) after seq %d"
                              % (m.partition(), m.key(), seq, op, highest[key]))
        repeated.add(event)
        highest[key] = max(highest.get(key, seq), seq)

    differences = []
    conflicts = []
    if args.rows_file:
        with open(args.rows_file) as f:
            rows = json.load(f)
        last = {}
        images = {}
        for m in messages:
            if m.value() is None:
                continue
            value = json.loads(m.value())
            image = value["after"] if value["op"] != "d" else value["before"]
            last[str(image["id"])] = (value["op"], value["after"])
            row = json.dumps(value["after"], sort_keys=True)
            images.setdefault((str(image["id"]), value["source"]["seq"]), set()).add(row)
        conflicts = sorted("%s@%d" % key for key, rows in images.items() if len(rows) > 1)
        for key, (op, after) in last.items():
            row = rows.get(key)
            if op == "d":
                if row is not None:
                    differences.append("%s: deleted last, but the row exists" % key)
            elif row is None:
                differences.append("%s: the row is gone, its last event is %s" % (key, op))
            elif after["v"] != row["v"] or after["note"] != row["note"]:
                differences.append("%s: last event %s %r, row %r" % (key, op, after, row))
        differences += ["%s: no event" % key for key in rows if key not in last]

    missing = sorted(committed - seen)
    unknown = sorted(seen - committed)
    print(json.dumps({
        "committed": len(committed),
        "events": counts["events"],
        "r_events": counts["r_events"],
        "tombstones": counts["tombstones"],
        "repeats": counts["repeats"],
        "keys": len(highest),
        "missing": len(missing),
        "unknown": len(unknown),
        "order_violations": len(violations),
        "state_differences": len(differences),
        "image_conflicts": len(conflicts),
        "missing_examples": missing[:10],
        "unknown_examples": unknown[:10],
        "violation_examples": violations[:5],
        "difference_examples": differences[:5],
        "conflict_examples": conflicts[:5],
    }))


if __name__ == "__main__":
    sys.exit(main())
