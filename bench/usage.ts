// The bench's usage text: every subcommand, its options and what it measures (`npm run bench -- --help`).
export const usage = `usage: npm run bench -- relay [--transport kafka|rabbitmq|nats|sqs|postgres|all] [--events N] [--baseline-events N] [--rate R[,R2,...]] [--seconds S] [--events-per-tx N] [--only herald|baseline|debezium] [--systems a,b] [--relays N] [--metrics] [--source polling|cdc|table-less|all] [--compression none|gzip|snappy|lz4|zstd] [--json]
       npm run bench -- consume [--events N] [--duplicates FRACTION] [--concurrency N] [--partitions N] [--keys N] [--only herald|herald-pipeline|herald-single|herald-batch|herald-offsets|baseline|floor|floor-pipeline|floor-inbox|floor-kafka] [--json]
       npm run bench -- consume --rate R[,R2,...] [--seconds S] [--handler-ms MS] [--concurrency N] [--partitions N] [--keys N] [--only herald|herald-pipeline|herald-offsets] [--json]
       npm run bench -- write [--writers N] [--payload-bytes B] [--seconds S] [--rounds R] [--anatomy] [--variants a,b] [--json]
       npm run bench -- write --clients all|NAME,NAME [--writers N] [--payload-bytes B] [--seconds S] [--json]
       npm run bench -- decode [--events N] [--rounds R] [--variants herald,table-less,debezium] [--json]
       npm run bench -- in-flight [--json]

  relay   Herald's relay against a seed-style polling relay, on the same PostgreSQL and broker:
          drain throughput of a backlog, commit→arrival latency at a steady rate, lost and
          duplicated events. Progress goes to stderr; with --json, one JSON line per system on stdout.

  --transport NAME      the broker both relays publish to: kafka (default), rabbitmq, nats, sqs,
                        postgres, or all (each in turn, in one run)
  --events N            backlog Herald drains (default per transport: kafka 20000, rabbitmq 10000,
                        nats 10000, sqs 5000, postgres 10000)
  --baseline-events N   backlog the baseline drains (default: the same as --events)
  --rate R[,R2,...]     events per second offered in the latency phase (default 1000); several:
                        the phase at each rate in turn (a sweep, in "sweep" of each JSON line)
  --seconds S           length of the latency phase, at each rate (default 10)
  --events-per-tx N     events each transaction of the latency phase writes (default 1); the rate
                        stays in events a second, for rates beyond the writers' commits a second
  --payload SHAPE       the events' 1 kB payload: flat (default; one string field) or structured
                        (a list of small objects, as an order's lines: costly to parse)
  --only SYSTEM         run one system only
  --systems a,b         the systems to run, in order: herald, baseline (default both), debezium
                        (Debezium 3.6's PostgreSQL connector and outbox event router on Kafka
                        Connect 4.1, standalone, from Maven Central jars; Kafka only, Java 21+,
                        a database with wal_level=logical as for --source cdc)
  --relays N            also run Herald with N relays in the same run (shards split by leases),
                        and time a failover (on Kafka only): SIGKILL one of two relay processes
                        until the events written after it are published
  --metrics             also run Herald with metrics on (Prometheus, scraped every 5 s) in the same
                        run, off, on, on, off, and report the drain with metrics on against off,
                        with the recorder's own CPU time per event (measured without a broker)
  --source S            Herald's relay source: polling (default), cdc (logical replication), table-less
                        (createOutbox({ mode: 'wal' }) read by the CDC source), or all (polling and cdc,
                        in turn). CDC needs wal_level=logical: when the database lacks it,
                        every system of the run uses a private cluster that has it (fsync on)
  --compression C       Kafka compression of Herald's relay: none (default), gzip, snappy, lz4, zstd
                        (run twice, none and one codec, to compare the drain)
  --json                machine-readable output

  consume Herald's consumer (inbox row and handler in one transaction) against a seed-style consumer
          (IsProcessed, handler, MarkProcessed as separate autocommitted statements, an offset
          commit after every message), reading the same topic in one run: events handled per
          second, and effects written. A share of the events is delivered twice.

  --events N            distinct events in the topic (default 20000)
  --duplicates FRACTION share of the events published a second time (default 0.1)
  --concurrency N       Herald's handler transactions at once (default 16)
  --partitions N        partitions of the bench's topic (default 6)
  --keys N              distinct event keys (default 1000); few keys: few messages may run side by side
  --only SYSTEM         run one system only: herald (consumer.on, group commit), herald-pipeline (the
                        same, groupCommit.pipeline on a pipelining pool), herald-single (consumer.on,
                        one transaction per event), herald-batch (onBatch, 100 a call), herald-offsets
                        (consumer.on with offsets: 'database', no inbox; only when asked for: its
                        effects are once per message, not per event), baseline, floor
                        (the handler's statement per event alone: no broker, no inbox), floor-pipeline
                        (the same, a transaction's statements sent at once), floor-inbox
                        (floor-pipeline with the inbox rows), or floor-kafka (floor-inbox fed by
                        the Kafka client's own consumer: the bound of consumer.on with such a
                        handler on this machine)
  --rate R[,R2,...]     instead: latency at steady rates. Events are published at R a second for
                        --seconds (default 10) while the consumer runs (herald and herald-pipeline,
                        or --only's), each timed from its publish call to its handler's commit:
                        p50/p90/p99/max per system and rate
  --handler-ms MS       with --rate: the handler waits MS after its statement, inside its
                        transaction (a call to another service)
  --json                machine-readable output

  write   What outbox.add costs the business transaction: writers commit transactions that insert
          one business row, alone (plain) or with one INSERT into a bare table (floor-table), a
          pg_logical_emit_message (floor-emit), or Herald's outbox.add (herald; herald-wal in
          table-less mode). Plain runs before
          and after every round; overheadPct is against their median. herald-wal needs a
          replication slot, so wal_level=logical: with it, every variant runs on a database that
          has it (a private cluster when the given one lacks it).

  --writers N           concurrent writers, one connection each (default 16)
  --payload-bytes B     size of the business row and of the event's payload (default 1024)
  --seconds S           length of each measurement (default 5)
  --rounds R            rounds of every variant; figures are medians (default 3)
  --anatomy             also the log's features one at a time (bench/write-anatomy.ts)
  --variants a,b        these variants only (plain is always measured); besides the defaults:
                        floor-log (the narrowest log read in commit order: key (xid, seq), shard,
                        id, payload) and herald-sql (the log's INSERT without outbox.add's code)
  --json                one JSON line per variant: variant, txPerSec, overheadPct, rounds
  --clients all|a,b     instead: per database client (node-postgres, postgres.js, kysely,
                        drizzle-node-postgres, drizzle-postgres-js, knex, prisma, typeorm, mikro-orm,
                        sequelize), its own
                        transaction with the business row alone and with outbox.add; one JSON line
                        per client: client, plainTxPerSec, withOutboxTxPerSec, overheadPct

  decode  PostgreSQL's logical decoding alone, the floor under the CDC walsender figures: events
          written one per transaction as Herald's log row (herald), as a table-less message
          (table-less) or as Debezium's outbox row (debezium), then read from a fresh slot by one
          backend with pg_logical_slot_get_binary_changes (pgoutput): the server's CPU and time per
          event to decode and encode them, without the walsender's wake-ups, network and replies.
          Needs wal_level=logical (a private cluster when the database lacks it).

  --events N            events per variant and round (default 10000)
  --rounds R            rounds, each variant in turn (default 3)
  --variants a,b        these variants only (default all three)
  --json                one JSON line per variant and round

  in-flight  Why the relay keeps one produce request in flight: two batches for one partition and
          one key sent without waiting for each other, the first refused by the broker (a record
          over the topic's max.message.bytes), then the first's event published again as the relay
          would. Prints the log's order and whether per-key order was kept.

  --json                one JSON line`;
