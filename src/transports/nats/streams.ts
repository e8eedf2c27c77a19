import type { StreamInfo } from '@nats-io/jetstream';
import { HeraldError } from '../../errors.ts';
import type { Connection } from './client.ts';
import { apiCode, apiCodes } from './errors.ts';
import { describeStream, partitionsInDescription, streamOf } from './names.ts';
import { type NatsSettings, nanos } from './options.ts';

export interface StreamOfDestination {
  destination: string;
  stream: string;
  partitions: number;
}

/**
 * The stream of a destination, created when missing: file storage, subjects `<destination>.*`
 * (one subject per partition), the de-duplication window, the retention, and the partition count
 * in its description. A stream that exists keeps its settings; its partition count wins over the option
 * (so publishers and consumers agree), and it must take the destination's subjects.
 */
export async function ensureStream(
  conn: Connection,
  settings: NatsSettings,
  destination: string,
): Promise<StreamOfDestination> {
  const stream = streamOf(settings, destination);
  const subjects = `${destination}.*`;
  let info: StreamInfo | null = null;
  try {
    info = await conn.deadline(conn.jsm.streams.info(stream));
  } catch (error) {
    if (apiCode(error) !== apiCodes.streamNotFound) throw error;
  }
  if (info === null) {
    const partitions = settings.partitions;
    try {
      info = await conn.deadline(
        conn.jsm.streams.add({
          name: stream,
          subjects: [subjects],
          storage: conn.lib.jetstream.StorageType.File,
          num_replicas: settings.replicas,
          duplicate_window: nanos(settings.duplicateWindowMs),
          max_age: nanos(settings.maxAgeMs),
          description: describeStream(partitions),
        }),
      );
    } catch (error) {
      // Another process created it first.
      if (apiCode(error) !== apiCodes.streamNameInUse) throw error;
      info = await conn.deadline(conn.jsm.streams.info(stream));
    }
  }
  const taken = info.config.subjects ?? [];
  if (!taken.includes(subjects) && !taken.includes(`${destination}.>`)) {
    throw new HeraldError(
      'HERALD_INVALID_DESTINATION',
      `${JSON.stringify(destination)}: stream ${stream} exists for subjects ${JSON.stringify(taken)}, not ${subjects}; ` +
        'two destinations map to one stream name (give one another with streamFor)',
      { details: { destination, stream, subjects: taken } },
    );
  }
  return {
    destination,
    stream,
    partitions: partitionsInDescription(info.config.description) ?? settings.partitions,
  };
}

/** Streams already ensured, per destination; an entry is dropped when the stream seems gone. */
export function createStreamCache(settings: NatsSettings) {
  const known = new Map<string, Promise<StreamOfDestination>>();
  return {
    get(conn: Connection, destination: string): Promise<StreamOfDestination> {
      let found = known.get(destination);
      if (!found) {
        found = ensureStream(conn, settings, destination);
        known.set(destination, found);
        found.catch(() => known.delete(destination));
      }
      return found;
    },
    forget(destination: string): void {
      known.delete(destination);
    },
  };
}
