import { lsnValue } from '../store/replication.ts';

/**
 * When the CDC relay tells its slot what is done with: behind publishing, at most once every
 * `intervalMs` (each acknowledgement is a reply the walsender reads and applies), and only ever
 * forward. An idle position comes from the server's last keepalive, which can trail the end of
 * what was just published: it must not replace the newer position held back, which a successor
 * would otherwise publish again.
 */
export function slotAcks(intervalMs: number, from = '0/0', now: () => number = () => performance.now()) {
  // Where the slot stands already (its confirmed_flush_lsn): nothing at or below it is sent.
  let highest = lsnValue(from);
  let unsent: string | null = null;
  let sentAt = Number.NEGATIVE_INFINITY;
  return {
    /** `lsn` is done with; returns the position to send now, or null (nothing new, or too soon). */
    offer(lsn: string): string | null {
      const value = lsnValue(lsn);
      if (value > highest) {
        highest = value;
        unsent = lsn;
      }
      if (unsent === null || now() - sentAt < intervalMs) return null;
      sentAt = now();
      const send = unsent;
      unsent = null;
      return send;
    },
    /** The position not sent yet, to send before the stream closes (a stop, a handover). */
    flush(): string | null {
      const send = unsent;
      unsent = null;
      return send;
    },
  };
}
