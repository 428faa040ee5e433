// The Raft demo: a 3-member Shoal KV cluster on loopback; writes, a leader crash (SIGKILL), the
// new leader serving writes, and the old leader rejoining with every key. Human output on stdout;
// member logs stay in their temp dir (removed at the end) unless something fails.
import { describeError, sleep } from "@shoal/common";
import { exitOnSignals } from "../cluster/child.js";
import { KvCluster, type Member } from "../cluster/kv-cluster.js";
import type { MemberStatus } from "../cluster/kv-client.js";

const say = (s = ""): void => {
  process.stdout.write(`${s}\n`);
};

let cluster: KvCluster | undefined;

async function table(c: KvCluster): Promise<Map<number, MemberStatus>> {
  const sts = new Map((await c.statuses()).map(({ member, status }) => [member.index, status]));
  const rows = c.members.map((m) => {
    const s = sts.get(m.index);
    const role = s === undefined ? "down" : s.leader === m.index ? "LEADER" : s.leader === 0 ? "candidate" : "follower";
    return [String(m.index), m.clientAddress, m.child.running ? String(m.child.pid) : "-", role, s ? String(s.term) : "-", s ? String(s.commit) : "-", s ? String(s.applied) : "-"];
  });
  const head = ["member", "client address", "pid", "role", "term", "commit", "applied"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => "  " + r.map((x, i) => x.padEnd(widths[i]!)).join("  ");
  say(line(head));
  say("  " + widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) say(line(r));
  return sts;
}

async function putVia(m: Member, key: string, value: string): Promise<number> {
  const r = await m.client.put(key, value, { deadlineMs: 5000 });
  return Number(r.header?.revision ?? 0);
}

async function main(): Promise<void> {
  exitOnSignals(async () => {
    await cluster?.destroy();
  });
  say("Shoal Raft demo: 3 members on 127.0.0.1, each a separate process with its own LevelDB log (fsync on).");
  say();
  const t0 = performance.now();
  cluster = await KvCluster.start({ system: "shoal" });
  const c = cluster;
  const leader = await c.waitForLeader(20_000);
  say(`Cluster up in ${((performance.now() - t0) / 1000).toFixed(2)} s; member ${leader.index} was elected leader.`);
  await table(c);
  say();

  const keys = ["color", "shape", "size", "owner", "region"];
  const values = ["blue", "circle", "large", "shoal", "eu-west"];
  say("Writing 5 keys through the leader:");
  for (let i = 0; i < keys.length; i++) {
    const rev = await putVia(leader, keys[i]!, values[i]!);
    say(`  put ${keys[i]} = ${values[i]}   (committed at revision ${rev})`);
  }
  const follower = c.members.find((m) => m !== leader)!;
  say(`Reading "color" linearizably from follower ${follower.index}: ${await follower.client.get("color", { deadlineMs: 5000 })}`);
  say();

  say(`SIGKILL the leader (member ${leader.index}, pid ${leader.child.pid}).`);
  await c.kill(leader.index);
  const tKill = performance.now();
  const newLeader = await c.waitForLeader(20_000, { not: leader });
  const tElected = performance.now();
  const rev = await putVia(newLeader, "after-failover", "yes");
  const tWrite = performance.now();
  say(`Member ${newLeader.index} became leader ${((tElected - tKill) / 1000).toFixed(2)} s after the kill; `
    + `first write committed ${((tWrite - tKill) / 1000).toFixed(2)} s after the kill (revision ${rev}).`);
  await table(c);
  say();

  say(`Restarting member ${leader.index} from its data directory.`);
  await c.restart(leader.index);
  // It rejoins as a follower and catches up from the leader's log.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await leader.client.status({ deadlineMs: 1000 }).catch(() => undefined);
    const ls = await newLeader.client.status({ deadlineMs: 1000 }).catch(() => undefined);
    if (s && ls && s.leader === newLeader.index && s.applied >= ls.commit) break;
    if (Date.now() > deadline) throw new Error(`member ${leader.index} did not catch up within 20 s`);
    await sleep(50);
  }
  await table(c);
  say(`Member ${leader.index} is a follower again; its local (serializable) reads:`);
  for (const k of [...keys, "after-failover"]) {
    const v = await leader.client.get(k, { serializable: true, deadlineMs: 2000 });
    const want = k === "after-failover" ? "yes" : values[keys.indexOf(k)]!;
    if (v !== want) throw new Error(`member ${leader.index} has ${k}=${JSON.stringify(v)}, want ${JSON.stringify(want)}`);
    say(`  ${k} = ${v}`);
  }
  say();
  say("All data present on the rejoined member. Stopping the cluster.");
  await c.destroy();
  cluster = undefined;
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`demo failed: ${describeError(err)}\n`);
    await cluster?.destroy().catch(() => undefined);
    process.exit(1);
  },
);
