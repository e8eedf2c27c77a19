import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHeraldError } from '../../src/index.ts';
import { loadOptional } from '../../src/optional.ts';

describe('optional peer dependencies', () => {
  it('a client library that is not installed is named, with the command that installs it', async () => {
    const missing: string = 'herald-no-such-client-library';
    await assert.rejects(
      // A module that does not exist, loaded the way every transport loads its client.
      loadOptional(() => import(missing), missing, 'the Example transport'),
      (e: unknown) =>
        isHeraldError(e, 'HERALD_MISSING_DEPENDENCY') &&
        e.message ===
          'the Example transport needs herald-no-such-client-library: npm install herald-no-such-client-library',
    );
  });

  it('every transport, the embedded store and the metrics load their library through it', async () => {
    const { readFile } = await import('node:fs/promises');
    const sources: [string, string][] = [
      ['src/transports/kafka/client.ts', '@platformatic/kafka'],
      ['src/transports/rabbitmq/client.ts', 'amqplib'],
      ['src/transports/nats/client.ts', '@nats-io/transport-node'],
      ['src/transports/sqs/client.ts', '@aws-sdk/client-sqs'],
      ['src/store/pglite.ts', '@electric-sql/pglite'],
      ['src/observe/prometheus.ts', 'prom-client'],
      ['src/observe/opentelemetry.ts', '@opentelemetry/api'],
    ];
    for (const [file, pkg] of sources) {
      const text = await readFile(file, 'utf8');
      assert.match(text, /loadOptional\(/, file);
      assert.ok(text.includes(pkg), `${file} names ${pkg}`);
      assert.doesNotMatch(
        text,
        new RegExp(`^import (?!type )[^;]* from '${pkg.replace('/', '\\/')}';`, 'm'),
        `${file} imports ${pkg} eagerly`,
      );
    }
  });
});
