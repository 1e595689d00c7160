// The producer's partitioner: kafkajs's default (the Java client's murmur2 of the key, round robin
// without one), short-cut for a topic of one partition, where every choice it could make is that
// partition. The default filters the topic's partitions and hashes the key for every message; on
// the driver's default single-partition topics that was a tenth of a large batch's produce time.
import { Partitioners, type ICustomPartitioner } from 'kafkajs';

export const partitioner: ICustomPartitioner = () => {
  const choose = Partitioners.DefaultPartitioner();
  return (args) => {
    const { partitionMetadata, message } = args;
    if (message.partition === undefined && partitionMetadata.length === 1) return partitionMetadata[0]!.partitionId;
    return choose(args);
  };
};
