#!/usr/bin/python3
"""Independent decoder for the interop test: reads our Avro payload (Confluent-framed) with
python3-avro and the registered schema, and our JSON payload with Python's json module, and prints
both as tagged JSON so the C++ test can compare every value exactly.

usage: interop_decode.py SCHEMA_FILE AVRO_FILE JSON_FILE
"""
import base64
import datetime
import decimal
import io
import json
import struct
import sys
import uuid
import warnings

import avro.errors
import avro.io
import avro.schema

# python3-avro 1.11.1 does not know local-timestamp-micros and reads it as its underlying long,
# as the Avro spec prescribes for unknown logical types; that is expected here.
warnings.simplefilter("ignore", avro.errors.IgnoredLogicalType)


def tag(value):
    """A JSON-safe rendering that keeps the Python type visible."""
    if value is None:
        return None
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    if isinstance(value, str):
        return {"str": value}
    if isinstance(value, dict):
        return {k: tag(v) for k, v in value.items()}
    raise TypeError(type(value))


def main():
    schema_file, avro_file, json_file = sys.argv[1:4]
    with open(schema_file) as f:
        schema = avro.schema.parse(f.read())
    with open(avro_file, "rb") as f:
        framed = f.read()
    magic, schema_id = struct.unpack(">bI", framed[:5])
    assert magic == 0, "magic byte"
    decoder = avro.io.BinaryDecoder(io.BytesIO(framed[5:]))
    record = avro.io.DatumReader(schema).read(decoder)
    with open(json_file) as f:
        json_record = json.load(f)
    print(json.dumps({"schema_id": schema_id, "avro": tag(record), "json": json_record}))


if __name__ == "__main__":
    main()
