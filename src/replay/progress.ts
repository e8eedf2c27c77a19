/** Where progress goes: process.stderr fits. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Removes the bar (a terminal) so the summary starts on a clean line. */
  finish(): void;
}

export interface ProgressOptions {
  label?: string;
  /** Plain lines when the stream is not a terminal: at most one per this many ms; 0 for none. */
  plainEveryMs?: number;
  now?: () => number;
}

function rate(done: number, ms: number): string {
  return ms > 0 ? `${Math.round((done * 1000) / ms)}/s` : '';
}

/**
 * A progress bar redrawn in place on a terminal (at most 10 times a second); elsewhere (a pipe,
 * a log file) a plain line now and then, so that logs are not flooded with carriage returns.
 */
export function createProgress(stream: ProgressStream, options: ProgressOptions = {}): Progress {
  const label = options.label ?? 'replay';
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const plainEveryMs = options.plainEveryMs ?? 10_000;
  const started = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let lastPlain = started;

  const bar = (done: number, total: number) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const tail = ` ${percent} ${done}/${total} ${rate(done, now() - started)}`;
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - tail.length - 4));
    const full = Math.round(fraction * width);
    return `${label} [${'#'.repeat(full)}${'-'.repeat(width - full)}]${tail}`;
  };

  return {
    update(done, total) {
      const t = now();
      if (tty) {
        if (done < total && t - lastDraw < 100) return;
        lastDraw = t;
        drawn = true;
        stream.write(`\r\x1b[2K${bar(done, total)}`);
      } else if (plainEveryMs > 0 && done < total && t - lastPlain >= plainEveryMs) {
        lastPlain = t;
        const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
        stream.write(`${label}: ${done}/${total} events (${percent}%), ${rate(done, t - started)}\n`);
      }
    },
    finish() {
      if (tty && drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
