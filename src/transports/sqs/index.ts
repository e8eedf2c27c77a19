import { transportOf } from '../adapter.ts';
import type { Transport } from '../transport.ts';
import { loadSqs } from './client.ts';
import { type SqsOptions, sqsSettings } from './options.ts';
import { createPublisher } from './publish.ts';
import { subscribeSqs } from './subscribe.ts';

export type { SqsOptions } from './options.ts';

/**
 * Amazon SQS (or an SQS-compatible server such as ElasticMQ) through @aws-sdk/client-sqs v3. SQS
 * has no consumer groups and no fan-out: each destination has a FIFO queue per consumer group
 * (`groups`), and a message is sent to each of them. The MessageGroupId is the partition key (SQS
 * keeps its order) and the MessageDeduplicationId the event id (SQS drops a copy sent within 5
 * minutes). CloudEvents travel in structured mode (see wire.ts). See docs/sqs.md.
 */
export function sqs(options: SqsOptions): Transport {
  const settings = sqsSettings(options);
  return transportOf('sqs', {
    describe: () => settings.target,
    publisher: createPublisher(settings),
    subscribe: async (subscription) => subscribeSqs(await loadSqs(), settings, subscription),
  });
}
