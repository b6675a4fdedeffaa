// An independent subscriber, as another team would write one with standard tools: kafkajs reads
// a topic from the beginning (lz4 batches through lz4js, as kafkajs has no lz4 codec of its own),
// and @kafkajs/confluent-schema-registry decodes every key and value through the schema registry
// REST API that cdc-api serves. Nothing of ours is used but the wire.
//
//   node check.js BROKERS REGISTRY_URL TOPIC MIN_MESSAGES
//
// Prints one JSON line {messages, values, tombstones, failures, sample} and exits 0 when at least
// MIN_MESSAGES messages were read, every key and value decoded, and each value's row image
// carries the key's fields with the key's values; else exits 1.
'use strict';
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require('kafkajs');
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry');
const lz4 = require('lz4js');

CompressionCodecs[CompressionTypes.LZ4] = () => ({
  async compress(encoder) { return Buffer.from(lz4.compress(encoder.buffer)); },
  async decompress(buffer) { return Buffer.from(lz4.decompress(buffer)); },
});

const [brokers, registryUrl, topic, minText] = process.argv.slice(2);
const min = Number(minText);
const registry = new SchemaRegistry({ host: registryUrl });
const kafka = new Kafka({ clientId: 'registry-client-check', brokers: brokers.split(','),
                          logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `registry-client-check-${process.pid}` });
const result = { messages: 0, values: 0, tombstones: 0, failures: [], sample: null };

function same(a, b) {
  return JSON.stringify(a, (k, v) => (typeof v === 'bigint' ? String(v) : v)) ===
         JSON.stringify(b, (k, v) => (typeof v === 'bigint' ? String(v) : v));
}

async function main() {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const timer = setTimeout(() => finish(), 60000);
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      result.messages += 1;
      try {
        const key = await registry.decode(message.key);
        if (message.value === null) {
          result.tombstones += 1;
        } else {
          const value = await registry.decode(message.value);
          result.values += 1;
          const image = value.op === 'd' ? value.before : value.after;
          for (const field of Object.keys(key)) {
            if (!image || !same(image[field], key[field])) {
              throw new Error(`field ${field}: key ${JSON.stringify(key[field])}, row image ` +
                              `${JSON.stringify(image && image[field])}`);
            }
          }
          if (!result.sample) result.sample = { key, op: value.op, source: value.source.table };
        }
      } catch (e) {
        if (result.failures.length < 5) {
          result.failures.push(`partition ${partition} offset ${message.offset}: ${e.message}`);
        } else {
          result.failures.push('...');
        }
      }
      if (result.messages >= min) finish();
    },
  });
  await done;
  clearTimeout(timer);
  await consumer.disconnect();
  console.log(JSON.stringify(result, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
  process.exit(result.messages >= min && result.failures.length === 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(JSON.stringify({ error: e.message, ...result }));
  process.exit(1);
});
