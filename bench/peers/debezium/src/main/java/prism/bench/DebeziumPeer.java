// The CDC benchmark's peer: Debezium's embedded engine (Postgres connector, pgoutput) reading an
// existing slot and publication, every batch produced to one Kafka topic with a KafkaProducer and
// acknowledged (acks=all) before the engine may confirm its position. Configured by environment
// variables (PG_*, SLOT, PUBLICATION, TABLES, KAFKA_BROKERS, TOPIC); prints "ready" once the
// connector's task runs; stops cleanly when its standard input closes.
package prism.bench;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

public final class DebeziumPeer {
  private static String env(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) throw new IllegalArgumentException(name + ": not set");
    return value;
  }

  private static Properties engineProperties() {
    Properties p = new Properties();
    p.setProperty("name", "prism-bench-debezium");
    p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
    // The slot holds the position; nothing outlives the process.
    p.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
    p.setProperty("offset.flush.interval.ms", "1000");
    p.setProperty("database.hostname", env("PG_HOST"));
    p.setProperty("database.port", env("PG_PORT"));
    p.setProperty("database.user", env("PG_USER"));
    p.setProperty("database.password", env("PG_PASSWORD"));
    p.setProperty("database.dbname", env("PG_DATABASE"));
    p.setProperty("topic.prefix", "bench");
    p.setProperty("plugin.name", "pgoutput");
    p.setProperty("slot.name", env("SLOT"));
    p.setProperty("publication.name", env("PUBLICATION"));
    p.setProperty("publication.autocreate.mode", "disabled");
    p.setProperty("table.include.list", env("TABLES"));
    p.setProperty("snapshot.mode", "no_data");
    // Debezium waits poll.interval.ms (default 500) when its queue is empty: lowered so that the
    // lag measured is the pipeline's, as anyone tuning it for latency would.
    p.setProperty("poll.interval.ms", System.getenv().getOrDefault("POLL_INTERVAL_MS", "10"));
    p.setProperty("key.converter.schemas.enable", "false");
    p.setProperty("value.converter.schemas.enable", "false");
    return p;
  }

  private static KafkaProducer<String, String> producer() {
    Properties p = new Properties();
    p.setProperty(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env("KAFKA_BROKERS"));
    p.setProperty(ProducerConfig.ACKS_CONFIG, "all");
    p.setProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.setProperty(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.setProperty(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  public static void main(String[] args) throws Exception {
    String topic = env("TOPIC");
    KafkaProducer<String, String> producer = producer();
    DebeziumEngine<ChangeEvent<String, String>> engine =
        DebeziumEngine.create(Json.class)
            .using(engineProperties())
            .notifying(
                (records, committer) -> {
                  List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
                  for (ChangeEvent<String, String> r : records) {
                    if (r.value() != null) sent.add(producer.send(new ProducerRecord<>(topic, r.key(), r.value())));
                  }
                  try {
                    for (Future<RecordMetadata> f : sent) f.get();
                  } catch (Exception e) {
                    throw new InterruptedException("produce failed: " + e);
                  }
                  for (ChangeEvent<String, String> r : records) committer.markProcessed(r);
                  committer.markBatchFinished();
                })
            .using(
                new DebeziumEngine.ConnectorCallback() {
                  @Override
                  public void taskStarted() {
                    System.out.println("ready");
                    System.out.flush();
                  }
                })
            .using(
                (success, message, error) -> {
                  if (!success) {
                    System.err.println("debezium engine stopped: " + message + (error == null ? "" : " " + error));
                    System.exit(2);
                  }
                })
            .build();
    ExecutorService executor = Executors.newSingleThreadExecutor();
    executor.execute(engine);
    // Runs until the bench closes our standard input.
    InputStream in = System.in;
    while (in.read() != -1) {
      // nothing to read: standard input only tells when to stop
    }
    engine.close();
    executor.shutdown();
    producer.close();
    System.exit(0);
  }
}
