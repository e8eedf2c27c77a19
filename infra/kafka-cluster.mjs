// A Kafka cluster of the caller's own: several KRaft nodes (each broker and controller, all voters
// of one quorum, one cluster id) on free ports, for a run that kills and restarts brokers.
//
//   import { privateKafkaCluster } from '../infra/kafka-cluster.mjs';
//   const cluster = await privateKafkaCluster({ nodes: 3 });   // replication 3, min.insync.replicas 2
//   await cluster.nodes[1].kill(); await cluster.nodes[1].start();
//   await cluster.destroy();
//
// Built on kafkaBroker() (infra/kafka.mjs) and privateInstance() (infra/private.mjs): every JVM
// carries the instance's marker, so destroy() or the owner's exit kills them all and removes
// .cache/private/<id>. Plain ESM, Node >= 20, no dependencies.

import path from 'node:path';
import { KAFKA_HOST, kafkaBroker, kafkaUnavailable, newClusterId } from './kafka.mjs';
import { privateInstance } from './private.mjs';

/**
 * Starts `nodes` brokers at once (a quorum forms only when a majority runs) and resolves when every
 * one logged that it started. `extraHost`: each node also listens on <extraHost>:<a free port>,
 * advertised as that address (listener EXTRA), for clients in a network namespace.
 * @param {{nodes?: number, replicationFactor?: number, minInsyncReplicas?: number, heapOpts?: string[],
 *   extraHost?: string, props?: Record<string, string | number | boolean>}} [options]
 */
export function privateKafkaCluster({
  nodes = 3,
  replicationFactor = Math.min(3, nodes),
  minInsyncReplicas = Math.min(2, replicationFactor),
  heapOpts = ['-Xms128m', '-Xmx512m'],
  extraHost,
  props,
} = {}) {
  const perNode = extraHost ? 3 : 2;
  return privateInstance('kafka-cluster', {
    ports: nodes * perNode,
    requirements: kafkaUnavailable,
    create: ({ dir, ports, env }) => {
      const clusterId = newClusterId();
      const at = (i, k) => /** @type {number} */ (ports[i * perNode + k]);
      const voters = Array.from({ length: nodes }, (_, i) => ({ id: i + 1, host: KAFKA_HOST, port: at(i, 1) }));
      const brokers = voters.map((v, i) =>
        kafkaBroker({
          name: `kafka-cluster-node-${v.id}`,
          dir: path.join(dir, `node-${v.id}`),
          port: at(i, 0),
          controllerPort: v.port,
          nodeId: v.id,
          voters,
          clusterId,
          replicationFactor,
          minInsyncReplicas,
          heapOpts,
          env,
          ...(extraHost ? { listeners: [{ name: 'EXTRA', host: extraHost, port: at(i, 2) }] } : {}),
          // Small: a first consumer group makes __consumer_offsets, 50 partitions × 3 replicas by
          // default, which takes half a minute on 2 busy cores.
          props: {
            'offsets.topic.num.partitions': 6,
            'num.io.threads': 2,
            'num.network.threads': 1,
            'background.threads': 2,
            ...props,
          },
        }),
      );
      const list = (address) => brokers.map(address).join(',');
      return {
        nodes: brokers,
        /** Every node's 127.0.0.1 address, comma-separated. */
        bootstrap: list((b) => b.bootstrap),
        /** Every node's address on extraHost, comma-separated (empty without extraHost). */
        extraBootstrap: extraHost ? list((_, i) => `${extraHost}:${at(i, 2)}`) : '',
        /** The node of `nodeId`. */
        node: (nodeId) => brokers.find((b) => b.nodeId === nodeId),
        async start() {
          const t0 = Date.now();
          await Promise.all(brokers.map((b) => b.start()));
          return { ms: Date.now() - t0 };
        },
      };
    },
  });
}
