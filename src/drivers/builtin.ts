// The drivers that ship with Prism. Each descriptor is light: its client library loads only when
// a config creates a backend with it.
import { kafkaDriver } from './kafka';
import { memoryDriver } from './memory';
import { natsDriver } from './nats';
import { postgresDriver } from './postgres';
import { redisDriver } from './redis';
import { DriverRegistry } from './registry';

export function builtinDrivers(): DriverRegistry {
  return new DriverRegistry()
    .register(memoryDriver)
    .register(redisDriver)
    .register(postgresDriver)
    .register(natsDriver)
    .register(kafkaDriver);
}
