// The end-to-end run's timeline: every second, how many events the writers have committed and how
// many the consumers have applied (rows in chaos_effects), and the longest stall: the time the
// applied count did not grow while committed events were waiting to be applied.

export interface Sample {
  /** Seconds since the run's start. */
  at: number;
  written: number;
  /** Undefined when the count could not be read (PostgreSQL restarting). */
  applied: number | undefined;
  /** Deliveries the consumers' inboxes absorbed so far (their last reports). */
  duplicates: number;
}

export interface Sampler {
  samples: Sample[];
  /** The longest stall so far, in seconds. */
  maxStallSeconds(): number;
  stop(): Promise<void>;
}

/** Tracks stalls over samples given in time order. */
export function stallTracker() {
  let lastApplied = -1;
  let since: number | undefined;
  let max = 0;
  return {
    add(s: Sample): void {
      if (s.applied === undefined) return; // unknown: the stall, if any, goes on
      if (s.applied > lastApplied || s.written <= s.applied) {
        lastApplied = Math.max(lastApplied, s.applied);
        since = s.at;
        return;
      }
      since ??= s.at;
      max = Math.max(max, s.at - since);
    },
    max: () => Math.round(max * 10) / 10,
  };
}

/** Samples every `everyMs` until stop(). */
export function startSampler(
  t0: number,
  written: () => number,
  applied: () => Promise<number | undefined>,
  duplicates: () => number,
  everyMs = 1000,
): Sampler {
  const samples: Sample[] = [];
  const stalls = stallTracker();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const next = Date.now() + everyMs;
      const w = written();
      const at = Math.round((Date.now() - t0) / 100) / 10;
      const sample = { at, written: w, applied: await applied(), duplicates: duplicates() };
      samples.push(sample);
      stalls.add(sample);
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  })();
  return {
    samples,
    maxStallSeconds: stalls.max,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
