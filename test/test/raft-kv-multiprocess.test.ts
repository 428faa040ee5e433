// Three kv-server processes on loopback while the leader is SIGKILLed and restarted repeatedly:
// the history of concurrent puts and gets must be linearizable (lincheck's kvModel), and every
// put that was acknowledged must be readable at the end.
import assert from "node:assert/strict";
import { sleep } from "@shoal/common";
import { checkOperations, HistoryRecorder, kvModel, type KvInput, type KvOutput } from "@shoal/lincheck";
import { KvCluster, type Member } from "../src/cluster/kv-cluster.js";
import { KvClient } from "../src/cluster/kv-client.js";

const WORKERS = 5;
const KEYS = ["k0", "k1", "k2"];
const CRASHES = 5;
const OP_DEADLINE_MS = 1000;

describe("Raft KV over 3 processes with the leader SIGKILLed 5 times", function () {
  this.timeout(90_000);
  let cluster: KvCluster | undefined;
  const clients: KvClient[] = [];

  after(async () => {
    for (const c of clients) c.close();
    await cluster?.destroy();
  });

  it("keeps concurrent puts and gets linearizable and every acknowledged put readable", async () => {
    cluster = await KvCluster.start({ system: "shoal" });
    const c = cluster;
    const t0 = performance.now();
    const now = (): number => performance.now() - t0;
    const history = new HistoryRecorder<KvInput, KvOutput>();
    const stop = new AbortController();
    const acked = { puts: 0, gets: 0, unknown: 0 };
    const durable = new Map<string, string>();
    const clientFor = (m: Member): KvClient => {
      const k = new KvClient(m.clientAddress, { system: "shoal", deadlineMs: OP_DEADLINE_MS });
      clients.push(k);
      return k;
    };
    const perMember = c.members.map((m) => clientFor(m));

    // Workers talk to any member (followers forward puts and pass read barriers through the
    // leader); on an error they move to the next member, as a real client would.
    const worker = async (id: number): Promise<void> => {
      let target = id % perMember.length;
      let seq = 0;
      while (!stop.signal.aborted) {
        const key = KEYS[(id + seq) % KEYS.length]!;
        const isPut = (seq * 7 + id) % 2 === 0;
        const input: KvInput = isPut ? { op: "put", key, value: `w${id}-${seq}` } : { op: "get", key };
        seq++;
        const h = history.call(id, input, now());
        try {
          if (input.op === "put") {
            await perMember[target]!.put(input.key, input.value);
            history.finish(h, {}, now());
            acked.puts++;
          } else {
            const value = await perMember[target]!.get(key);
            history.finish(h, { value }, now());
            acked.gets++;
          }
        } catch {
          // Outcome unknown: the put may or may not have committed. Left unfinished in the history.
          acked.unknown++;
          target = (target + 1) % perMember.length;
          await sleep(20);
        }
      }
    };

    // Unique keys written once each: an acknowledged one must survive every crash.
    const durabilityWriter = async (): Promise<void> => {
      let n = 0;
      let target = 0;
      while (!stop.signal.aborted) {
        const key = `d/${String(n).padStart(6, "0")}`;
        const value = `v${n}`;
        n++;
        try {
          await perMember[target]!.put(key, value);
          durable.set(key, value);
        } catch {
          target = (target + 1) % perMember.length;
          await sleep(20);
        }
      }
    };

    const killed: number[] = [];
    const crasher = async (): Promise<void> => {
      for (let i = 0; i < CRASHES; i++) {
        await sleep(1500);
        const leader = await c.waitForLeader(15_000);
        await c.kill(leader.index);
        killed.push(leader.index);
        await sleep(1500);
        await c.restart(leader.index);
      }
      await sleep(1500);
    };

    const load = [...Array.from({ length: WORKERS }, (_, i) => worker(i)), durabilityWriter()];
    try {
      await crasher();
    } finally {
      stop.abort();
      await Promise.all(load);
    }

    assert.equal(killed.length, CRASHES, "the leader was killed each time");
    assert.ok(acked.puts >= 50, `enough acknowledged puts to mean something (got ${acked.puts})`);
    assert.ok(acked.gets >= 50, `enough acknowledged gets to mean something (got ${acked.gets})`);

    const outcome = checkOperations(kvModel, history.operations());
    assert.equal(
      outcome.result,
      "ok",
      `history of ${history.operations().length} ops (${acked.unknown} unknown) is not linearizable: ${outcome.info?.explanation ?? ""}`,
    );

    // Read back every durable key through the (possibly new) leader with a linearizable read.
    const leader = await c.waitForLeader(15_000);
    const reader = clientFor(leader);
    const res = await reader.range("d/", { rangeEnd: Buffer.from("d0"), deadlineMs: 5000 });
    const found = new Map((res.kvs ?? []).map((kv: { key?: Uint8Array | null; value?: Uint8Array | null }) => [Buffer.from(kv.key!).toString(), Buffer.from(kv.value!).toString()]));
    const lost = [...durable].filter(([k, v]) => found.get(k) !== v).map(([k]) => k);
    assert.ok(durable.size >= 20, `enough acknowledged durable puts (got ${durable.size})`);
    assert.deepEqual(lost, [], `acknowledged puts lost after crashes (${lost.length} of ${durable.size})`);
  });
});
