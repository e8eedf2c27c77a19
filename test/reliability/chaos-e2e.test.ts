import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runEndToEnd } from '../../chaos/e2e.ts';
import { orSkip } from '../support/private.ts';

// The end-to-end chaos run of docs/reliability.md, small: 10,000 events at 150/s (about as long as
// one round of faults), one per transaction, through three relay processes, a three-node Kafka
// cluster (replication 3, min.insync.replicas 2) and three consumer processes of one group, through
// one round of every fault: a relay, a consumer and a partition leader's broker SIGKILLed and
// restarted, a relay and a consumer SIGSTOPped past their lease and session timeout, PostgreSQL
// restarted, and a relay cut off from the brokers and the database past its lease in a network
// namespace of the run's own (where none can be made, not root, the cut alone is skipped and said).
// The cluster and the database are private ones (infra/kafka-cluster.mjs, infra/postgres.mjs);
// without Java the test is skipped, saying why. About 2-2.5 minutes on 2 busy cores.
describe('chaos end to end', () => {
  it('applies every event once and in per-key order through kills, pauses, a broker and a database restart and a net cut', async (t) => {
    const lines: string[] = [];
    const result = await orSkip(t, () =>
      runEndToEnd({
        events: 10_000,
        rate: 150,
        leaseMs: 3000,
        sessionMs: 6000,
        log: (line) => lines.push(`${new Date().toISOString().slice(11, 19)} ${line}`),
      }).catch((error: Error) => {
        // The run's own log says how far it got.
        error.message += `\n${lines.join('\n')}`;
        throw error;
      }),
    );
    if (!result) return;
    const { samples, faults, ...summary } = result;
    const context = `${JSON.stringify(summary)}\n${faults.map((f) => `${f.from}-${f.to} s ${f.what}`).join('\n')}\n${lines.join('\n')}`;
    assert.equal(result.lost, 0, `lost events: ${result.examples.join('; ')}\n${context}`);
    assert.equal(result.appliedTwice, 0, `applied twice: ${result.examples.join('; ')}\n${context}`);
    assert.equal(result.orderViolations, 0, `order violations: ${result.examples.join('; ')}\n${context}`);
    assert.equal(result.phantoms, 0, context);
    assert.ok(result.committed >= 10_000, context);
    assert.ok(result.relayKills >= 1 && result.consumerKills >= 1 && result.brokerKills >= 1, context);
    assert.equal(result.kills, result.relayKills + result.consumerKills + result.brokerKills, context);
    assert.ok(result.relayStops >= 1 && result.consumerStops >= 1 && result.pgRestarts >= 1, context);
    assert.ok(result.stoppedRelaysFenced >= 1, `the paused relay never noticed it lost its leases\n${context}`);
    if (result.netCut) {
      assert.ok(result.netCuts >= 1, context);
      assert.ok(result.cutRelaysFenced >= 1, `the cut-off relay never noticed it lost its leases\n${context}`);
    } else {
      t.diagnostic(`net cut skipped: ${result.netCutReason}`);
    }
    assert.deepEqual(result.relayCrashes, [], context);
    // A consumer process that dies is started again (as a supervisor would) and reported, not a
    // failure of the run's promises: docs/reliability.md lists the ones seen (a pg client error
    // nothing listened to, during a PostgreSQL restart, is not yet explained).
    for (const crash of result.consumerCrashes) t.diagnostic(`consumer crash: ${crash}`);
    console.log(
      `chaos e2e: ${result.committed} events, lost ${result.lost}, applied twice ${result.appliedTwice}, order violations ${result.orderViolations}, duplicates ${result.duplicates}, kills ${result.kills}, max stall ${result.maxStallSeconds} s, net cut ${result.netCut}, ${result.seconds} s`,
    );
  });
});
