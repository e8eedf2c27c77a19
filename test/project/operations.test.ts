// The Grafana dashboard and the Prometheus alert rules in docs/ name only metrics Herald reports,
// with the labels it gives them: a renamed metric or label fails here, not on an operator's screen.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { metricDefinitions } from '../../src/observe/metrics.ts';

const docs = new URL('../../docs/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, docs), 'utf8');

/** Metric name -> its labels, with a histogram's series (`_bucket` takes `le`). */
const known = new Map<string, readonly string[]>();
for (const d of Object.values(metricDefinitions)) {
  if (d.kind === 'histogram') {
    known.set(`${d.name}_bucket`, [...d.labels, 'le']);
    known.set(`${d.name}_count`, d.labels);
    known.set(`${d.name}_sum`, d.labels);
  } else known.set(d.name, d.labels);
}
const base = (name: string) => name.replace(/_(bucket|count|sum)$/, '');

/** Every metric a PromQL expression names, and the labels its selectors and `by (…)` use. */
function check(expr: string, where: string): string[] {
  const names = [...expr.matchAll(/\bherald_[a-z_]+/g)].map((m) => m[0]);
  assert.ok(names.length > 0, `${where}: names no Herald metric: ${expr}`);
  for (const name of names) assert.ok(known.has(name), `${where}: ${name} is not a Herald metric`);
  for (const [, name, selector] of expr.matchAll(/\b(herald_[a-z_]+)\{([^}]*)\}/g)) {
    for (const [, label] of (selector as string).matchAll(/(\w+)\s*[=!~]/g)) {
      assert.ok(known.get(name as string)?.includes(label as string), `${where}: ${name} has no label ${label}`);
    }
  }
  const labels = new Set(names.flatMap((n) => known.get(n) ?? []));
  for (const [, list] of expr.matchAll(/\bby \(([^)]*)\)/g)) {
    for (const label of (list as string).split(',').map((l) => l.trim())) {
      assert.ok(labels.has(label), `${where}: no metric of it has the label ${label}`);
    }
  }
  return names.map(base);
}

describe('the dashboard and alert rules in docs/ name what Herald reports', () => {
  it('docs/grafana-dashboard.json: every metric and label exists, and every metric is shown', () => {
    const dashboard = JSON.parse(read('grafana-dashboard.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const shown = new Set<string>();
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets.length > 0, `${panel.title}: no query`);
      for (const t of panel.targets) for (const n of check(t.expr, panel.title)) shown.add(n);
    }
    const missing = Object.values(metricDefinitions)
      .map((d) => d.name)
      .filter((n) => !shown.has(n));
    assert.deepEqual(missing, [], 'metrics no panel shows');
  });

  it('docs/prometheus-alerts.yml: every metric and label exists; backlog age, dead letters, lag and no leases held are alerted', () => {
    const text = read('prometheus-alerts.yml');
    const alerts = [...text.matchAll(/^\s+- alert: (\w+)\n((?:\s{8,}.*\n)+)/gm)].map(([, name, body]) => ({
      name: name as string,
      expr: /^\s+expr: (.+)$/m.exec(body as string)?.[1] ?? '',
    }));
    assert.ok(alerts.length >= 4, `only ${alerts.length} alerts read`);
    const watched = new Map<string, string[]>();
    for (const a of alerts) watched.set(a.name, check(a.expr, a.name));
    const alertedOn = (metric: string) => [...watched.values()].some((names) => names.includes(metric));
    assert.ok(alertedOn('herald_outbox_oldest_pending_age_seconds'), 'backlog age');
    assert.ok(alertedOn('herald_dead_letter_events'), 'dead letters');
    assert.ok(alertedOn('herald_consumer_lag_events'), 'lag');
    assert.match(
      watched.has('HeraldNoLeasesHeld') ? (alerts.find((a) => a.name === 'HeraldNoLeasesHeld')?.expr ?? '') : '',
      /herald_relay_shard_leases\{state="held"\} ?\)? == 0/,
    );
  });

  it('docs/operations.md lists every metric', () => {
    const page = read('operations.md');
    const missing = Object.values(metricDefinitions)
      .map((d) => d.name)
      .filter((n) => !page.includes(`| \`${n}\` |`));
    assert.deepEqual(missing, []);
  });
});
