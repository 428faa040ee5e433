// The dispatcher's DOWN marking, driven by a hand-cranked clock: nodes that stop heartbeating are
// marked DOWN after the grace period, but a manager whose own sweep ran late (it stalled) moves
// every deadline on by the stall instead of blaming the nodes.
import assert from "node:assert/strict";
import { silentLogger, type Clock, type TimerHandle } from "@shoal/common";
import { MemoryStore, NodeRole, NodeState, type Node } from "@shoal/store";
import { Dispatcher } from "../../src/control/dispatcher.js";
import type { ReplicatedStore } from "../../src/replication/index.js";

class CrankClock implements Clock {
  t = 1_000_000;
  sweep: (() => void) | undefined;
  now(): number {
    return this.t;
  }
  monotonicMs(): number {
    return this.t;
  }
  setTimeout(): TimerHandle {
    return { cancel: () => undefined };
  }
  setInterval(fn: () => void): TimerHandle {
    this.sweep = fn;
    return { cancel: () => (this.sweep = undefined) };
  }
}

function readyNode(id: string): Omit<Node, "meta"> {
  return {
    id,
    spec: { availability: "active", desiredRole: "worker", labels: {} },
    description: { hostname: id },
    status: { state: NodeState.READY, addr: "127.0.0.1" },
    role: "worker",
  } as unknown as Omit<Node, "meta">;
}

describe("control/dispatcher: registration", () => {
  it("registrations that arrive together share store entries instead of one each", async () => {
    const proposals: number[] = [];
    let applied = 0;
    // A proposer that commits locally but slowly, as raft under load does.
    const store = new MemoryStore(
      {},
      {
        proposer: {
          proposeValue: async (actions) => {
            proposals.push(actions.length);
            await new Promise((r) => setTimeout(r, 20));
            return { index: ++applied };
          },
        },
      },
    );
    const rs = { store, isLeader: () => true, leaderInfo: () => ({ id: 1, address: "127.0.0.1:1" }) } as unknown as ReplicatedStore;
    const dispatcher = new Dispatcher({ clusterId: "c" }, { rs, logger: silentLogger(), clock: new CrankClock() });
    const ids = Array.from({ length: 50 }, (_, i) => `n${i}`);
    await store.update((tx) => {
      for (const id of ids) tx.create("node", { ...readyNode(id), status: { state: NodeState.DOWN, addr: "" } } as Omit<Node, "meta">);
    });
    proposals.length = 0;
    dispatcher.start();
    const hb = (id: string): Promise<unknown> => (dispatcher as unknown as { heartbeat(id: string, req: object): Promise<unknown> }).heartbeat(id, { newSession: true, advertiseAddr: "10.0.0.9" });
    await Promise.all(ids.map(hb));
    assert.ok(store.view((tx) => tx.find("node", { all: true })).every((n) => n.status.state === NodeState.READY && n.status.addr === "10.0.0.9"));
    assert.ok(proposals.length <= 2, `50 registrations took ${proposals.length} store entries`);
    assert.equal(proposals.reduce((a, b) => a + b, 0), 50);
    dispatcher.stop();
    store.close();
  });
});

describe("control/dispatcher: on a follower", () => {
  it("holds a heartbeat while no leader is known and then names the leader; refuses at once when one is", async () => {
    const store = new MemoryStore();
    let leader = { id: 0, address: undefined as string | undefined };
    let elect: (() => void) | undefined;
    const waits: number[] = [];
    const rs = {
      store,
      isLeader: () => false,
      leaderInfo: () => leader,
      // As ReplicatedStore.leaderKnown: at once when a leader is known; otherwise until one is.
      leaderKnown: (ms: number) => {
        if (leader.id !== 0) return Promise.resolve();
        waits.push(ms);
        return new Promise<void>((resolve) => (elect = resolve));
      },
    } as unknown as ReplicatedStore;
    const dispatcher = new Dispatcher({ clusterId: "c" }, { rs, logger: silentLogger(), clock: new CrankClock() });
    const hb = (): Promise<unknown> => (dispatcher as unknown as { heartbeat(id: string, req: object): Promise<unknown> }).heartbeat("n1", { newSession: true, advertiseAddr: "10.0.0.9" });
    let outcome: unknown;
    const held = hb().then(
      () => (outcome = "answered"),
      (err: unknown) => (outcome = err),
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(outcome, undefined, "held while the election is on");
    assert.ok(waits.length === 1 && waits[0]! < 1_000, `waits less than the agents' 1 s deadline (${waits[0]} ms)`);
    leader = { id: 2, address: "127.0.0.1:4002" };
    elect!();
    await held;
    assert.match(String(outcome), /the leader is at 127\.0\.0\.1:4002/);
    await assert.rejects(hb(), /the leader is at 127\.0\.0\.1:4002/);
    assert.equal(waits.length, 1, "a follower that knows the leader does not wait");
    store.close();
  });
});

describe("control/dispatcher: heartbeat expiry", () => {
  let store: MemoryStore;
  let clock: CrankClock;
  let dispatcher: Dispatcher;
  // Default period 2 s, grace 3 periods: DOWN after 6 s; the sweep runs every 1 s.
  const states = (): Record<string, NodeState> => Object.fromEntries(store.view((tx) => tx.find("node", { all: true })).map((n) => [n.id, n.status.state]));
  const heartbeat = (id: string): Promise<unknown> => (dispatcher as unknown as { heartbeat(id: string, req: object): Promise<unknown> }).heartbeat(id, { newSession: false, advertiseAddr: "127.0.0.1" });
  const sweep = async (): Promise<void> => {
    clock.sweep!();
    // expire() is async: let its store batch settle.
    await new Promise((r) => setTimeout(r, 10));
  };
  /** Time passes normally: a sweep every second. */
  const run = async (ms: number): Promise<void> => {
    for (let i = 0; i < ms / 1000; i++) {
      clock.t += 1000;
      await sweep();
    }
  };

  /** Raft's members as this leader (raft id 1) sees them: whether each answered within an election timeout. */
  let raftMembers: { id: number; recentActive: boolean }[];

  /** A leading dispatcher over the store, started, with a and b heartbeating once. */
  const startDispatcher = async (opts: { graceMultiplier?: number } = {}): Promise<void> => {
    const rs = { store, isLeader: () => true, leaderInfo: () => ({ id: 1, address: "127.0.0.1:1" }), raft: { memberStatus: () => raftMembers } } as unknown as ReplicatedStore;
    dispatcher = new Dispatcher({ clusterId: "c", ...opts }, { rs, logger: silentLogger(), clock });
    dispatcher.start();
    await heartbeat("a");
    await heartbeat("b");
    // Their registrations (READY nodes: written after the answer) settle before a test begins.
    await new Promise((r) => setTimeout(r, 10));
  };

  beforeEach(async () => {
    store = new MemoryStore();
    clock = new CrankClock();
    raftMembers = [{ id: 1, recentActive: true }];
    await store.update((tx) => {
      tx.create("node", readyNode("a"));
      tx.create("node", readyNode("b"));
    });
    await startDispatcher();
  });
  afterEach(() => {
    dispatcher.stop();
    store.close();
  });

  /** `seconds` pass with a heartbeating every second and b silent. */
  const onlyABeats = async (seconds: number): Promise<void> => {
    for (let s = 0; s < seconds; s++) {
      await run(1000);
      await heartbeat("a");
    }
  };

  it("marks a node that stopped heartbeating DOWN after the grace period, not before", async () => {
    await onlyABeats(5);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.READY }, "5 s without b's heartbeat is within grace");
    await run(2000);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.DOWN });
  });

  it("marks DOWN after the configured number of missed periods (graceMultiplier: shoald --heartbeat-grace)", async () => {
    dispatcher.stop();
    await startDispatcher({ graceMultiplier: 5 });
    await onlyABeats(9);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.READY }, "9 s without b's heartbeat is within 5 periods of 2 s");
    await run(2000);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.DOWN });
  });

  it("gives a node that just joined three grace periods before its first heartbeat, and the normal one after it", async () => {
    await run(10_000);
    // a and b were silent for 10 s: DOWN. c joins now; its first heartbeat is still on the way.
    await store.update((tx) => tx.create("node", readyNode("c")));
    await run(1000);
    assert.equal(states()["c"], NodeState.READY, "not marked DOWN at the first sweep after joining");
    await run(16_000);
    assert.equal(states()["c"], NodeState.READY, "16 s after the sweep first saw it is within 3 × 6 s");
    await run(3000);
    assert.equal(states()["c"], NodeState.DOWN, "no heartbeat at all within three grace periods");
    // d joins and heartbeats once: from then on the normal 6 s apply.
    await store.update((tx) => tx.create("node", readyNode("d")));
    await run(1000);
    await heartbeat("d");
    await run(7000);
    assert.equal(states()["d"], NodeState.DOWN);
  });

  it("a new leader marks no node it has not heard from DOWN while others are still finding it", async () => {
    const late = ["c", "d", "e", "f", "g", "h", "i"];
    await store.update((tx) => late.forEach((id) => tx.create("node", readyNode(id))));
    dispatcher.stop();
    dispatcher.start();
    // a is heard at once; c…i find the new leader one every 4 s (the last at 28 s); b never does.
    const arrived = ["a"];
    for (let s = 1; s <= 50; s++) {
      if (s % 4 === 0 && late.length > 0) arrived.push(late.shift()!);
      for (const id of arrived) await heartbeat(id);
      await run(1000);
      if (s === 45) assert.equal(states()["b"], NodeState.READY, "17 s after the last node arrived, b may still be on its way");
    }
    const down = Object.entries(states()).filter(([, st]) => st === NodeState.DOWN);
    assert.deepEqual(down, [["b", NodeState.DOWN]], "once nodes stopped arriving, b is DOWN; every node that arrived is READY");
  });

  it("a new leader gives every node three grace periods to find it, counted from the last node that did", async () => {
    dispatcher.stop();
    // Leadership moves here: heartbeat times are gone, and the agents are still looking for us.
    dispatcher.start();
    await run(10_000);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.READY }, "10 s after taking over: still within 18 s");
    // a finds us at 10 s: b, still on its way perhaps, has 18 s from then.
    for (let s = 0; s < 4; s++) {
      await heartbeat("a");
      await run(4000);
    }
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.READY }, "16 s after the last node arrived");
    await heartbeat("a");
    await run(3000);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.DOWN }, "b never reached the new leader");
  });

  it("a new leader gives a manager whose raft member does not answer it either (the old leader, killed) the normal grace", async () => {
    const manager = (id: string, raftId: number): Omit<Node, "meta"> => ({ ...readyNode(id), role: NodeRole.MANAGER, managerStatus: { raftId, addr: "127.0.0.1:2377" } }) as Omit<Node, "meta">;
    await store.update((tx) => {
      tx.create("node", manager("old", 2));
      tx.create("node", manager("peer", 3));
    });
    // The old leader's member (2) went silent; the other follower (3) answers raft but its agent
    // has not found this leader yet.
    raftMembers = [
      { id: 1, recentActive: true },
      { id: 2, recentActive: false },
      { id: 3, recentActive: true },
    ];
    dispatcher.stop();
    dispatcher.start();
    await onlyABeats(6);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.READY, old: NodeState.READY, peer: NodeState.READY }, "within one grace period of taking over");
    await onlyABeats(2);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.READY, old: NodeState.DOWN, peer: NodeState.READY }, "only the silent manager is DOWN");
    // Its agent coming back makes it READY again like any node.
    await heartbeat("old");
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(states()["old"], NodeState.READY);
  });

  it("a slow DOWN write is not repeated by later sweeps, and spares a node heard from while it waited", async () => {
    // Hold the store's next write until released, as a loaded raft does.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batch = store.batch.bind(store);
    let writes = 0;
    store.batch = (async (fn: Parameters<MemoryStore["batch"]>[0]) => {
      writes++;
      if (writes === 1) await gate;
      return batch(fn);
    }) as MemoryStore["batch"];
    await run(7000); // both silent past the 6 s grace: one write to mark them DOWN, held
    assert.equal(writes, 1);
    await heartbeat("a"); // a is back before the write goes through
    await run(3000);
    assert.equal(writes, 1, "sweeps wait for the write in flight rather than queue the same nodes again");
    release();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.DOWN });
  });

  it("writes nothing for a new session that changes nothing (every node's, after a leader change)", async () => {
    const batch = store.batch.bind(store);
    let writes = 0;
    store.batch = (async (fn: Parameters<MemoryStore["batch"]>[0]) => {
      writes++;
      return batch(fn);
    }) as MemoryStore["batch"];
    const description = new TextEncoder().encode(JSON.stringify({ hostname: "a" }));
    const hb = (id: string, req: object): Promise<unknown> => (dispatcher as unknown as { heartbeat(id: string, req: object): Promise<unknown> }).heartbeat(id, req);
    dispatcher.stop();
    dispatcher.start();
    await hb("a", { newSession: true, advertiseAddr: "127.0.0.1", description });
    await hb("b", { newSession: true, advertiseAddr: "127.0.0.1" });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(writes, 0);
    // A new address is written.
    await hb("b", { newSession: true, advertiseAddr: "127.0.0.2" });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(writes, 1);
    assert.equal(store.view((tx) => tx.get("node", "b")?.status.addr), "127.0.0.2");
  });

  it("answers a READY node's new session at once while its re-registration is written; a node coming up waits for READY", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batch = store.batch.bind(store);
    let writes = 0;
    let nodeUpdates = 0;
    store.batch = (async (fn: Parameters<MemoryStore["batch"]>[0]) => {
      writes++;
      await gate;
      // Counts the node updates each write makes.
      return batch((b) => fn(new Proxy(b, { get: (t, k) => (k === "update" ? (u: Parameters<typeof b.update>[0]) => (nodeUpdates++, t.update(u)) : Reflect.get(t, k)) })));
    }) as MemoryStore["batch"];
    await store.update((tx) => tx.update("node", { ...tx.get("node", "b")!, status: { state: NodeState.DOWN, addr: "" } }));
    const newSession = (id: string, addr: string): Promise<unknown> =>
      (dispatcher as unknown as { heartbeat(id: string, req: object): Promise<unknown> }).heartbeat(id, { newSession: true, advertiseAddr: addr });
    // After a leader change every node re-registers; a READY one is answered without the write.
    let answeredA = false;
    const a = newSession("a", "10.0.0.1").then(() => (answeredA = true));
    let answeredB = false;
    const b = newSession("b", "10.0.0.2").then(() => (answeredB = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(answeredA, true, "a READY node's heartbeat does not wait for the store");
    assert.equal(answeredB, false, "a DOWN node's heartbeat is answered once it is READY");
    // Heartbeats while a write is under way share it.
    await newSession("a", "10.0.0.1");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(writes, 1);
    release();
    await Promise.all([a, b]);
    assert.equal(answeredB, true);
    assert.equal(nodeUpdates, 2, "a's second heartbeat shared the write under way");
    assert.deepEqual(
      store.view((tx) => ["a", "b"].map((id) => [tx.get("node", id)?.status.state, tx.get("node", id)?.status.addr])),
      [
        [NodeState.READY, "10.0.0.1"],
        [NodeState.READY, "10.0.0.2"],
      ],
    );
  });

  it("does not blame the nodes for the manager's own stall", async () => {
    await run(1000);
    // The manager stalls for 8 s: no sweep ran and no heartbeat could be read meanwhile.
    clock.t += 8000;
    await sweep();
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.READY }, "a stall is not a missed heartbeat");
    // Afterwards heartbeats keep a READY; b stays silent and is DOWN once its silence outside the
    // stall (1 s before, 1 s of the late sweep's own interval, then these) passes 6 s.
    await onlyABeats(3);
    assert.equal(states()["b"], NodeState.READY);
    await run(3000);
    assert.deepEqual(states(), { a: NodeState.READY, b: NodeState.DOWN });
  });
});
