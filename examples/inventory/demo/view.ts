// What the terminal shows while the demo runs: redrawn in place on a terminal, a line every few
// seconds otherwise (CI logs, pipes).
import type { Queryable } from 'herald';
import type { System } from './system.ts';

export interface Snapshot {
  elapsedS: number;
  ordersByStatus: Record<string, number>;
  written: number;
  published: number;
  activeReservations: number;
}

export async function snapshot(db: Queryable, system: System, startedAt: number): Promise<Snapshot> {
  const s = system.schemas;
  const counts = await db.query<{ written: string; active: string }>(
    `SELECT (SELECT count(*) FROM ${s.inventory}.log) + (SELECT count(*) FROM ${s.orders}.log)
              + (SELECT count(*) FROM ${s.payments}.log) AS written,
            (SELECT count(*) FROM ${s.inventory}.reservations WHERE status = 'ACTIVE') AS active`,
  );
  const byStatus = await db.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM ${s.orders}.orders GROUP BY 1`,
  );
  return {
    elapsedS: (Date.now() - startedAt) / 1000,
    ordersByStatus: Object.fromEntries(byStatus.rows.map((r) => [r.status, Number(r.n)])),
    written: Number(counts.rows[0]?.written ?? 0),
    published: system.relays.reduce((sum, r) => sum + r.stats().published, 0),
    activeReservations: Number(counts.rows[0]?.active ?? 0),
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const settledStates = ['COMPLETED', 'CANCELLED', 'REJECTED', 'EXPIRED'];

export function createView(out: NodeJS.WriteStream, system: System, header: string) {
  const tty = Boolean(out.isTTY);
  let lines = 0;
  let last = { at: Date.now(), counts: new Map<string, number>() };
  // Off a terminal: the header once, then a line every 2 s (the first after 2 s, with real rates).
  let lastPlain = Date.now();
  if (!tty) out.write(`${header}\n`);
  return {
    render(snap: Snapshot, phase: string) {
      const now = Date.now();
      const seconds = Math.max(0.001, (now - last.at) / 1000);
      const counts = system.monitor.counts;
      const rate = (type: string) => ((counts.get(type) ?? 0) - (last.counts.get(type) ?? 0)) / seconds;
      const orders = Object.values(snap.ordersByStatus).reduce((a, b) => a + b, 0);
      const settled = settledStates.reduce((a, k) => a + (snap.ordersByStatus[k] ?? 0), 0);
      const totalRate = [...counts.keys()].reduce((a, t) => a + rate(t), 0);
      const alerts = system.monitor.alerts;
      if (!tty) {
        if (now - lastPlain >= 2000) {
          lastPlain = now;
          out.write(
            `${snap.elapsedS.toFixed(0).padStart(3)}s ${phase}: orders ${fmt(orders)} (settled ${fmt(settled)}), ` +
              `events ${fmt(snap.written)} (${fmt(Math.round(totalRate))}/s), backlog ${fmt(snap.written - snap.published)}, ` +
              `reservations ${fmt(snap.activeReservations)}, alerts ${fmt([...alerts.values()].reduce((a, b) => a + b, 0))}\n`,
          );
          last = { at: now, counts: new Map(counts) };
        }
        return;
      }
      const statusLine = Object.entries(snap.ordersByStatus)
        .sort()
        .map(([k, v]) => `${k.toLowerCase()} ${fmt(v)}`)
        .join('  ');
      const types = [...counts.keys()].sort();
      const rows = types.map(
        (t) => `  ${t.padEnd(36)} ${fmt(counts.get(t) ?? 0).padStart(7)}  ${rate(t).toFixed(0).padStart(5)}/s`,
      );
      const text = [
        header,
        `${phase} · ${snap.elapsedS.toFixed(1)}s`,
        `orders        ${fmt(orders)} placed, ${fmt(orders - settled)} in flight · ${statusLine}`,
        `reservations  ${fmt(snap.activeReservations)} active`,
        `alerts        ${['WARNING', 'CRITICAL', 'OUT_OF_STOCK'].map((k) => `${k} ${fmt(alerts.get(k) ?? 0)}`).join('  ')}`,
        `backlog       ${fmt(snap.written - snap.published)} committed, not yet published (${fmt(snap.written)} written)`,
        `events handled by the monitor, per type:`,
        ...rows,
      ];
      out.write(`${lines > 0 ? `\x1b[${lines}A\x1b[0J` : ''}${text.join('\n')}\n`);
      lines = text.length;
      last = { at: now, counts: new Map(counts) };
    },
  };
}
