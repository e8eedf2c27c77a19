// What the end-to-end run asks its Kafka cluster: which broker leads a partition (the one to kill),
// and whether the consumer group has settled (before the clock starts).
import { Admin } from '@platformatic/kafka';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withAdmin<T>(bootstrap: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ clientId: 'herald-chaos-admin', bootstrapBrokers: bootstrap.split(',') });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/** The node id of the broker leading `partition` of `topic`. */
export function leaderOf(bootstrap: string, topic: string, partition: number): Promise<number> {
  return withAdmin(bootstrap, async (admin) => {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
    const leader = meta.topics.get(topic)?.partitions[partition]?.leader;
    if (leader === undefined || leader < 0) throw new Error(`partition ${partition} of ${topic} has no leader`);
    return leader;
  });
}

/** Waits until `group` is stable with `members` members; false after timeoutMs. */
export async function groupSettled(bootstrap: string, group: string, members: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stable = await withAdmin(bootstrap, async (admin) => {
      const g = (await admin.describeGroups({ groups: [group] })).get(group);
      return g !== undefined && /stable/i.test(String(g.state)) && g.members.size === members;
    }).catch(() => false);
    if (stable) return true;
    await sleep(500);
  }
  return false;
}
