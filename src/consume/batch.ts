/**
 * Collects items until `size` are waiting or the first has waited `maxWaitMs`, then runs them
 * together; each `add` resolves with its own item's outcome.
 */
export function createBatcher<T, R = import('./route.ts').Outcome>(options: {
  size: number;
  maxWaitMs: number;
  run: (items: T[]) => Promise<R[]>;
}) {
  let waiting: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | null = null;

  const flush = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    const taken = waiting;
    waiting = [];
    if (taken.length === 0) return;
    try {
      const results = await options.run(taken.map((w) => w.item));
      for (const [i, w] of taken.entries()) w.resolve(results[i] as R);
    } catch (error) {
      for (const w of taken) w.reject(error);
    }
  };

  return {
    add(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        if (waiting.length >= options.size) void flush();
        else if (!timer) timer = setTimeout(() => void flush(), options.maxWaitMs);
      });
    },
    flush,
  };
}
