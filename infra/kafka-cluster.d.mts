// Types for infra/kafka-cluster.mjs (so TypeScript tests can import it under strict mode).
import type { KafkaBroker } from './kafka.mjs';
import type { PrivateInstance } from './private.mjs';

export interface PrivateKafkaCluster extends PrivateInstance {
  /** The nodes, node ids 1..n, each broker and controller; kill() and start() each on its own. */
  nodes: KafkaBroker[];
  /** Every node's 127.0.0.1 address, comma-separated. */
  bootstrap: string;
  /** Every node's address on extraHost, comma-separated (empty without extraHost). */
  extraBootstrap: string;
  node(nodeId: number): KafkaBroker | undefined;
  start(): Promise<{ ms: number }>;
}

/** A KRaft cluster of the caller's own on free ports (started; destroy() removes it). Throws ServiceUnavailable without Java. */
export declare function privateKafkaCluster(options?: {
  /** default 3 */
  nodes?: number;
  /** default min(3, nodes) */
  replicationFactor?: number;
  /** default min(2, replicationFactor) */
  minInsyncReplicas?: number;
  /** default -Xms128m -Xmx512m */
  heapOpts?: string[];
  /** each node also listens on <extraHost>:<a free port>, advertised so (listener EXTRA) */
  extraHost?: string;
  props?: Record<string, string | number | boolean>;
}): Promise<PrivateKafkaCluster>;
