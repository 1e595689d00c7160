// The CDC pattern's slots: where changes come from and where events go.
import { slot } from '../../sdk/slot';

export const CDC = 'cdc';

export const cdcSlots = {
  source: slot(['cdc_source'], { description: 'the Postgres database whose changes are captured' }),
  // Either capability will do (Kafka: a topic per table via pubsub_basic; NATS: JetStream via
  // stream_basic), and a slot can only require all of its capabilities, so the workflow checks the
  // binding's capabilities against the input's `sink` mode before doing any work.
  sink: slot([], { description: 'where events are delivered: pubsub_basic or stream_basic' }),
};
