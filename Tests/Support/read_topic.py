#!/usr/bin/env python3
"""Reads records from a Kafka topic with confluent_kafka (a client the project did
not write) and prints those whose ce_id is wanted, one JSON object per line:
{"topic", "partition", "offset", "key", "headers": {name: value}, "value"}.

usage: read_topic.py BOOTSTRAP TOPIC ID[,ID...] [TIMEOUT_SECONDS]
Exits 0 once every id was seen, 1 on timeout (printing what was found).
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, TopicPartition

bootstrap, topic, ids = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "read-topic-" + str(uuid.uuid4()),
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
})
metadata = consumer.list_topics(topic, timeout=10)
partitions = [TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions]
consumer.assign(partitions)

seen = set()
deadline = time.time() + timeout
while seen != ids and time.time() < deadline:
    message = consumer.poll(0.5)
    if message is None or message.error():
        continue
    headers = {name: (value.decode() if value is not None else None) for name, value in (message.headers() or [])}
    if headers.get("ce_id") in ids:
        seen.add(headers["ce_id"])
        print(json.dumps({
            "topic": message.topic(),
            "partition": message.partition(),
            "offset": message.offset(),
            "key": message.key().decode() if message.key() is not None else None,
            "headers": headers,
            "value": message.value().decode(),
        }), flush=True)
consumer.close()
sys.exit(0 if seen == ids else 1)
