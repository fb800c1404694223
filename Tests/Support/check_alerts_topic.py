#!/usr/bin/env python3
"""An analytics consumer the project did not write: reads every record of
iomt.alerts.v1 with confluent_kafka, checks each is a CloudEvent in binary mode
whose data validates against schemas/events/iomt.alert.changed.v1.schema.json and
whose ce_id and ce_time agree with it, and
prints one JSON object: {"records": n, "invalid": [reasons], "versions": {alertId: [versions in arrival order]}}.

usage: check_alerts_topic.py BOOTSTRAP SCHEMA_FILE [IDLE_SECONDS]
"""
import json
from datetime import datetime
import sys
import time
import uuid

import jsonschema
from confluent_kafka import Consumer, TopicPartition

bootstrap, schema_file = sys.argv[1], sys.argv[2]
idle = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
schema = json.load(open(schema_file))
data_schema = dict(schema["$defs"]["data"])
data_schema["$defs"] = schema["$defs"]
validator = jsonschema.Draft202012Validator(data_schema)

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "check-alerts-" + str(uuid.uuid4()),
                     "enable.auto.commit": False, "auto.offset.reset": "earliest"})
topic = "iomt.alerts.v1"
metadata = consumer.list_topics(topic, timeout=10)
consumer.assign([TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions])

records, invalid, versions = 0, [], {}
last = time.time()
while time.time() - last < idle:
    message = consumer.poll(0.5)
    if message is None or message.error():
        continue
    last = time.time()
    records += 1
    headers = {k: (v.decode() if v is not None else None) for k, v in (message.headers() or [])}
    for required in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time"):
        if required not in headers:
            invalid.append("missing header " + required)
    if headers.get("ce_specversion") != "1.0" or headers.get("ce_type") != "iomt.alert.changed.v1":
        invalid.append("bad ce_specversion or ce_type")
    if headers.get("content-type") != "application/json":
        invalid.append("bad content-type")
    try:
        data = json.loads(message.value())
    except ValueError as error:
        invalid.append("value is not JSON: %s" % error)
        continue
    for error in validator.iter_errors(data):
        invalid.append("schema: " + error.message)
    if message.key().decode() != data.get("alertId"):
        invalid.append("key is not the alertId")
    if headers.get("ce_id") != "%s-v%s" % (data.get("alertId"), data.get("version")):
        invalid.append("ce_id is not <alertId>-v<version>")
    try:
        if datetime.fromisoformat(headers.get("ce_time", "")) != datetime.fromisoformat(data.get("updatedAt", "")):
            invalid.append("ce_time is not the change's updatedAt")
    except ValueError:
        invalid.append("ce_time or updatedAt is not RFC 3339")
    versions.setdefault(data.get("alertId"), []).append(data.get("version"))
consumer.close()
print(json.dumps({"records": records, "invalid": invalid[:20], "versions": versions}))
