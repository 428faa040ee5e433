// TaskAssignments on a real MemoryStore (committing locally) with fake stream calls: full then
// incremental sets per node from one shared watch, status reports that only move forward.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { FakeClock, silentLogger, sleep } from "@shoal/common";
import { controlpb } from "@shoal/proto";
import { MemoryStore, TaskState, type Task, type TaskStatus } from "@shoal/store";
import { TaskAssignments, latestStatuses, type AssignmentsOptions } from "../../src/control/assignments.js";
import type { ReplicatedStore } from "../../src/replication/index.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

class FakeStream extends EventEmitter {
  readonly messages: controlpb.AssignmentsMessage[] = [];
  ended = false;
  write(m: controlpb.AssignmentsMessage): boolean {
    this.messages.push(m);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  tasks(i: number): Task[] {
    return ((this.messages[i]?.tasks ?? []) as Uint8Array[]).map((b) => JSON.parse(decoder.decode(b)) as Task);
  }
}

function newTask(id: string, nodeId: string, state = TaskState.ASSIGNED): Omit<Task, "meta"> {
  return { id, spec: { container: { image: "busybox" } }, serviceId: "svc", slot: 1, nodeId, status: { timestamp: 0, state }, desiredState: TaskState.RUNNING };
}

function statusReq(taskId: string, status: Partial<TaskStatus> & { state: TaskState }): controlpb.IUpdateTaskStatusRequest {
  return { updates: [{ taskId, status: encoder.encode(JSON.stringify({ timestamp: 1, ...status })) }] };
}

const settle = (): Promise<void> => sleep(5);

describe("control/assignments: task assignment streams and status reports", () => {
  let store: MemoryStore;
  let leader: boolean;
  let a: TaskAssignments;

  beforeEach(() => {
    store = new MemoryStore();
    leader = true;
    const rs = { store, isLeader: () => leader, leaderInfo: () => ({ id: 1, address: undefined }) } as unknown as ReplicatedStore;
    // Messages go out once a burst is routed; the batching window has its own test.
    a = new TaskAssignments({ rs, logger: silentLogger() }, { batchWindowMs: 0 });
    a.start();
  });

  afterEach(() => {
    a.stop();
    store.close();
  });

  /** Replaces `a` with one on a fake clock (timers fire only when it is advanced). */
  const fakeClock = (opts: AssignmentsOptions): FakeClock => {
    a.stop();
    const clock = new FakeClock();
    const rs = { store, isLeader: () => true, leaderInfo: () => ({ id: 1, address: undefined }) } as unknown as ReplicatedStore;
    a = new TaskAssignments({ rs, logger: silentLogger(), clock }, opts);
    a.start();
    return clock;
  };

  /**
   * Replaces `a` with one whose clock reads 20 ms later at every reading (past the open and flush
   * budgets); its timers fire only when the returned clock is advanced.
   */
  const slowClock = (batchWindowMs = 0): FakeClock => {
    const clock = fakeClock({ batchWindowMs });
    clock.monotonicMs = ((t) => () => (t += 20))(0);
    return clock;
  };

  const open = (nodeId: string): FakeStream => {
    const s = new FakeStream();
    a.serve(nodeId, s as never);
    return s;
  };

  it("starts with the complete set of the node's tasks at ASSIGNED or later, sequence 1", async () => {
    await store.update((tx) => {
      tx.create("task", newTask("t1", "n1"));
      tx.create("task", newTask("t2", "n1", TaskState.PENDING));
      tx.create("task", newTask("t3", "n2"));
    });
    const s = open("n1");
    assert.equal(s.messages.length, 1);
    assert.equal(s.messages[0]?.type, controlpb.AssignmentsMessage.Type.COMPLETE);
    assert.equal(Number(s.messages[0]?.sequence), 1);
    assert.deepEqual(s.tasks(0).map((t) => t.id), ["t1"]);
  });

  it("sends new, changed and removed tasks incrementally, only to their node, with increasing sequence numbers", async () => {
    const s1 = open("n1");
    const s2 = open("n2");
    await store.update((tx) => tx.create("task", newTask("t1", "n1")));
    await settle();
    assert.equal(s1.messages.length, 2);
    assert.equal(s1.messages[1]?.type, controlpb.AssignmentsMessage.Type.INCREMENTAL);
    assert.equal(Number(s1.messages[1]?.sequence), 2);
    assert.deepEqual(s1.tasks(1).map((t) => t.id), ["t1"]);
    assert.equal(s2.messages.length, 1, "another node's stream hears nothing");
    await store.update((tx) => {
      const t = tx.get("task", "t1");
      assert.ok(t);
      tx.update("task", { ...t, desiredState: TaskState.SHUTDOWN });
    });
    await settle();
    assert.equal(s1.tasks(2)[0]?.desiredState, TaskState.SHUTDOWN);
    await store.update((tx) => tx.delete("task", "t1"));
    await settle();
    assert.deepEqual(s1.messages[3]?.removedTaskIds, ["t1"]);
    assert.equal(Number(s1.messages[3]?.sequence), 4);
  });

  it("sends a task when the scheduler assigns it (PENDING → ASSIGNED) and not the agent's own status reports back", async () => {
    await store.update((tx) => tx.create("task", newTask("t1", "n1", TaskState.PENDING)));
    const s = open("n1");
    await store.update((tx) => {
      const t = tx.get("task", "t1");
      assert.ok(t);
      tx.update("task", { ...t, status: { timestamp: 1, state: TaskState.ASSIGNED } });
    });
    await settle();
    assert.deepEqual(s.tasks(1).map((t) => t.id), ["t1"]);
    await a.updateTaskStatus("n1", statusReq("t1", { state: TaskState.RUNNING }));
    await settle();
    assert.equal(s.messages.length, 2, "no echo of a status report");
    // Counted for the metrics: one report, and in it one update.
    assert.equal(a.stats().statusReports, 1);
    assert.equal(a.stats().statusUpdates, 1);
  });

  it("a task moved to another node leaves the old node's set and joins the new one's", async () => {
    await store.update((tx) => tx.create("task", newTask("t1", "n1")));
    const s1 = open("n1");
    const s2 = open("n2");
    await store.update((tx) => tx.update("task", { ...tx.get("task", "t1")!, nodeId: "n2" }));
    await settle();
    assert.deepEqual(s1.messages[1]?.removedTaskIds, ["t1"]);
    assert.deepEqual(s2.tasks(1).map((t) => t.id), ["t1"]);
  });

  it("a field the task no longer has is a change the agent hears of", async () => {
    await store.update((tx) => tx.create("task", { ...newTask("t1", "n1"), logDriver: { name: "json-file" } }));
    const s = open("n1");
    await store.update((tx) => {
      const { logDriver: _dropped, ...rest } = tx.get("task", "t1")!;
      tx.update("task", rest);
    });
    await settle();
    assert.equal(s.messages.length, 2);
    assert.equal(s.tasks(1)[0]?.logDriver, undefined);
  });

  it("coalesces a burst of commits into one incremental message", async () => {
    const s = open("n1");
    await store.batch(async (b) => {
      for (let i = 0; i < 20; i++) await b.update((tx) => tx.create("task", newTask(`t${i}`, "n1")));
    });
    await settle();
    assert.equal(s.messages.length, 2);
    assert.equal(s.tasks(1).length, 20);
  });

  it("gathers the changes of a window into one message per node, from the first change", async () => {
    const clock = fakeClock({ batchWindowMs: 100 });
    const s1 = open("n1");
    const s2 = open("n2");
    // Separate commits (as a scheduling pass's raft entries are), apart in time.
    await store.update((tx) => tx.create("task", newTask("t1", "n1")));
    await settle();
    clock.advance(60);
    await store.update((tx) => {
      tx.create("task", newTask("t2", "n1"));
      tx.create("task", newTask("t3", "n2"));
    });
    await settle();
    assert.equal(s1.messages.length, 1, "nothing sent before the window ends");
    clock.advance(40);
    assert.deepEqual(s1.tasks(1).map((t) => t.id), ["t1", "t2"]);
    assert.deepEqual(s2.tasks(1).map((t) => t.id), ["t3"]);
    // The next change opens a new window.
    await store.update((tx) => tx.create("task", newTask("t4", "n1")));
    await settle();
    clock.advance(99);
    assert.equal(s1.messages.length, 2);
    clock.advance(1);
    assert.deepEqual(s1.tasks(2).map((t) => t.id), ["t4"]);
    assert.equal(Number(s1.messages[2]?.sequence), 3);
    // A status report (no change for the agent) opens no window.
    await a.updateTaskStatus("n1", statusReq("t4", { state: TaskState.RUNNING }));
    await settle();
    clock.advance(100);
    assert.equal(s1.messages.length, 3);
  });

  it("paces busy streams under load: changes gather behind a stream's last message, quiet streams send at the window", async () => {
    // A budget of 10 messages/s: with 3 streams busy, each waits 300 ms behind its last message.
    const clock = fakeClock({ batchWindowMs: 100, messageBudgetPerSec: 10, maxPaceMs: 1000 });
    const [s1, s2, s3] = [open("n1"), open("n2"), open("n3")];
    const change = async (id: string, nodeId: string): Promise<void> => {
      await store.update((tx) => tx.create("task", newTask(id, nodeId)));
      await settle();
    };
    await change("t1", "n1");
    await change("t2", "n2");
    await change("t3", "n3");
    clock.advance(100);
    await settle();
    for (const s of [s1, s2, s3]) assert.equal(s.messages.length, 2, "a stream's first change goes out at the end of the window");
    // Right after n1's message: its next changes wait until 300 ms after that message.
    await change("t4", "n1");
    clock.advance(100);
    await settle();
    await change("t5", "n1");
    assert.equal(s1.messages.length, 2, "held behind the last message");
    clock.advance(199);
    await settle();
    assert.equal(s1.messages.length, 2);
    clock.advance(1);
    await settle();
    assert.equal(s1.messages.length, 3);
    assert.deepEqual(s1.tasks(2).map((t) => t.id), ["t4", "t5"], "the held changes go out together");
    // A stream quiet for longer than its pace sends at the end of the window.
    clock.advance(200);
    await settle();
    await change("t6", "n2");
    clock.advance(100);
    await settle();
    assert.deepEqual(s2.tasks(2).map((t) => t.id), ["t6"]);
    // A held stream that closes sends nothing more, and stop() leaves no timer behind.
    await change("t7", "n2");
    clock.advance(100);
    await settle();
    assert.equal(s2.messages.length, 3, "held");
    s2.emit("cancelled");
    clock.advance(1000);
    await settle();
    assert.equal(s2.messages.length, 3, "nothing sent on a closed stream");
    await change("t8", "n3");
    clock.advance(100);
    await settle();
    assert.equal(s3.messages.length, 3, "n3 was quiet for its pace");
    // Six increments so far (n1 2, n2 2, n3 2) carrying seven changes; two streams still open
    // sent in the last bucket (n2's closed), so the pace is 200 ms.
    assert.deepEqual(a.stats(), { messages: 6, changes: 7, paceMs: 200, statusReports: 0, statusUpdates: 0 });
    await change("t9", "n3");
    clock.advance(100);
    await settle();
    a.stop();
    clock.advance(1000);
    await settle();
    assert.equal(s3.messages.length, 3, "no message after stop()");
  });

  it("reports the pace of the last busy second, and none after a quiet spell", async () => {
    const clock = fakeClock({ batchWindowMs: 100, messageBudgetPerSec: 10 });
    open("n1");
    open("n2");
    await store.update((tx) => {
      tx.create("task", newTask("t1", "n1"));
      tx.create("task", newTask("t2", "n2"));
    });
    await settle();
    clock.advance(100);
    await settle();
    assert.deepEqual(a.stats(), { messages: 2, changes: 2, paceMs: 200, statusReports: 0, statusUpdates: 0 });
    clock.advance(2500);
    assert.equal(a.stats().paceMs, 0, "no stream sent for over a second");
  });

  it("does not pace when few streams are busy: a pace under 100 ms is not applied", async () => {
    // 40 messages/s with 2 busy streams would pace them 50 ms apart; changes 10 ms apart still go out at once.
    const clock = fakeClock({ batchWindowMs: 0, messageBudgetPerSec: 40 });
    const [s1] = [open("n1"), open("n2")];
    for (let i = 0; i < 5; i++) {
      await store.update((tx) => {
        tx.create("task", newTask(`a${i}`, "n1"));
        tx.create("task", newTask(`b${i}`, "n2"));
      });
      await settle();
      assert.equal(s1.messages.length, 2 + i, `change ${i + 1} went out at once`);
      clock.advance(10);
    }
  });

  it("ends every stream when leadership is lost, and forgets streams whose caller went away", async () => {
    const s1 = open("n1");
    const s2 = open("n2");
    s2.emit("cancelled");
    assert.equal(a.streamCount, 1);
    a.stop();
    assert.equal(s1.ended, true);
    assert.equal(a.streamCount, 0);
  });

  it("opens streams for a bounded time per turn: the rest get their complete set, with what committed meanwhile, in later turns", async () => {
    // Every reading of the clock is 20 ms later: each turn opens one stream (the first always opens).
    slowClock();
    await store.update((tx) => {
      for (let i = 1; i <= 8; i++) tx.create("task", newTask(`t${i}`, `n${i}`));
    });
    const streams = Array.from({ length: 8 }, (_, i) => open(`n${i + 1}`));
    const completeNow = streams.filter((st) => st.messages.length === 1).length;
    assert.equal(completeNow, 1, "one stream opened in this turn");
    for (const st of streams.slice(completeNow)) assert.equal(st.messages.length, 0);
    // Before their turn: one stream's caller goes away, and another stream's task changes.
    streams[6]!.emit("cancelled");
    await store.update((tx) => tx.update("task", { ...tx.get("task", "t8")!, desiredState: TaskState.SHUTDOWN }));
    await settle();
    assert.equal(streams[6]!.messages.length, 0, "a stream whose caller left while it waited is never opened");
    for (const [i, st] of streams.entries()) {
      if (i === 6) continue;
      assert.equal(st.messages[0]?.type, controlpb.AssignmentsMessage.Type.COMPLETE);
      assert.deepEqual(st.tasks(0).map((t) => t.id), [`t${i + 1}`]);
    }
    const last = streams[7]!;
    assert.equal(last.tasks(0)[0]?.desiredState, TaskState.SHUTDOWN, "the complete set is taken when the stream opens");
    assert.equal(last.messages.length, 1, "and the change it holds is not sent again");
    assert.equal(a.streamCount, 7);
  });

  it("builds incremental messages for a bounded time per turn: the other streams get theirs in later turns", async () => {
    // Each turn builds one stream's message.
    const clock = slowClock(100);
    const streams = Array.from({ length: 4 }, (_, i) => open(`n${i + 1}`));
    await settle();
    for (const st of streams) assert.equal(st.messages.length, 1, "every stream has its complete set");
    await store.update((tx) => {
      for (let i = 1; i <= 4; i++) tx.create("task", newTask(`t${i}`, `n${i}`));
    });
    await settle();
    clock.advance(100);
    assert.deepEqual(
      streams.map((st) => st.messages.length),
      [2, 1, 1, 1],
      "the first stream's message goes in this turn, the others wait for theirs",
    );
    await settle();
    for (const [i, st] of streams.entries()) {
      assert.equal(st.messages.length, 2);
      assert.equal(st.messages[1]?.type, controlpb.AssignmentsMessage.Type.INCREMENTAL);
      assert.equal(Number(st.messages[1]?.sequence), 2);
      assert.deepEqual(st.tasks(1).map((t) => t.id), [`t${i + 1}`]);
    }
  });

  it("a stream that ends while its message waits for its turn is left out; leadership lost drops every waiting message", async () => {
    slowClock();
    const streams = Array.from({ length: 3 }, (_, i) => open(`n${i + 1}`));
    await settle();
    await store.update((tx) => {
      for (let i = 1; i <= 3; i++) tx.create("task", newTask(`t${i}`, `n${i}`));
    });
    // The burst's messages: the first in the turn that routed it, the rest booked for later turns.
    await new Promise((r) => queueMicrotask(() => r(undefined)));
    const sentAtOnce = streams.filter((st) => st.messages.length === 2).length;
    assert.ok(sentAtOnce <= 1, `at most one message in the first turn, got ${sentAtOnce}`);
    streams[2]!.emit("cancelled");
    await settle();
    assert.equal(streams[1]!.messages.length, 2);
    assert.equal(streams[2]!.messages.length, 1, "the stream that went away got nothing more");
    // Changes gathered, then leadership lost before their turn: nothing is sent, every stream ends.
    await store.update((tx) => {
      tx.create("task", newTask("u1", "n1"));
      tx.create("task", newTask("u2", "n2"));
    });
    // n1's message may go in the turn that routed the burst; n2's waits for a later one.
    a.stop();
    await settle();
    assert.equal(streams[1]!.messages.length, 2, "the message still waiting for its turn is dropped");
    assert.ok(streams.every((st) => st.ended || st === streams[2]));
  });

  it("ends streams still waiting to be opened when leadership is lost", () => {
    slowClock();
    const s1 = open("n1");
    const s2 = open("n2");
    assert.equal(s1.messages.length, 1);
    assert.equal(s2.messages.length, 0);
    a.stop();
    assert.equal(s1.ended, true);
    assert.equal(s2.ended, true, "the waiting stream is ended, so its agent resyncs with the new leader");
    assert.equal(s2.messages.length, 0);
  });

  it("a stream opened before the leadership listener started the watch still receives changes", async () => {
    a.stop();
    const rs = { store, isLeader: () => true, leaderInfo: () => ({ id: 1, address: undefined }) } as unknown as ReplicatedStore;
    a = new TaskAssignments({ rs, logger: silentLogger() }, { batchWindowMs: 0 });
    const s = open("n1");
    await store.update((tx) => tx.create("task", newTask("t1", "n1")));
    await settle();
    assert.deepEqual(s.tasks(1).map((t) => t.id), ["t1"]);
  });

  it("writes status reports forward only: an older state is ignored", async () => {
    await store.update((tx) => tx.create("task", newTask("t1", "n1")));
    await a.updateTaskStatus("n1", statusReq("t1", { state: TaskState.RUNNING, message: "started" }));
    assert.equal(store.view((tx) => tx.get("task", "t1"))?.status.state, TaskState.RUNNING);
    await a.updateTaskStatus("n1", statusReq("t1", { state: TaskState.PREPARING }));
    assert.equal(store.view((tx) => tx.get("task", "t1"))?.status.state, TaskState.RUNNING);
    await a.updateTaskStatus("n1", statusReq("t1", { state: TaskState.FAILED, err: "boom", containerStatus: { exitCode: 1 } }));
    const t = store.view((tx) => tx.get("task", "t1"));
    assert.equal(t?.status.state, TaskState.FAILED);
    assert.equal(t?.status.containerStatus?.exitCode, 1);
  });

  it("refuses reports on another node's task and states up to ASSIGNED; ignores unknown tasks", async () => {
    await store.update((tx) => tx.create("task", newTask("t1", "n1")));
    await assert.rejects(a.updateTaskStatus("n2", statusReq("t1", { state: TaskState.RUNNING })), /not assigned to node n2/);
    await assert.rejects(a.updateTaskStatus("n1", statusReq("t1", { state: TaskState.PENDING })), (err: Error & { code?: string }) => err.code === "ASSIGNMENTS_STATUS_INVALID");
    await a.updateTaskStatus("n1", statusReq("gone", { state: TaskState.RUNNING }));
    assert.equal(store.view((tx) => tx.get("task", "t1"))?.status.state, TaskState.ASSIGNED);
  });

  it("writes concurrent reports from many nodes in few store proposals", async () => {
    await store.update((tx) => {
      for (let i = 0; i < 50; i++) tx.create("task", newTask(`t${i}`, `n${i}`));
    });
    const before = store.appliedIndex;
    await Promise.all(Array.from({ length: 50 }, (_, i) => a.updateTaskStatus(`n${i}`, statusReq(`t${i}`, { state: TaskState.RUNNING }))));
    assert.ok(store.appliedIndex - before <= 2, `${store.appliedIndex - before} proposals`);
    assert.equal(store.view((tx) => tx.find("task", { all: true })).filter((t) => t.status.state === TaskState.RUNNING).length, 50);
  });
});

describe("control/assignments: latestStatuses", () => {
  const st = (state: TaskState, message: string): TaskStatus => ({ timestamp: 1, state, message });

  it("keeps one status per task and node: the furthest state, the later of equal ones", () => {
    const out = latestStatuses([
      { nodeId: "n1", updates: [{ taskId: "a", status: st(TaskState.ACCEPTED, "accepted") }, { taskId: "b", status: st(TaskState.RUNNING, "started") }] },
      { nodeId: "n1", updates: [{ taskId: "a", status: st(TaskState.RUNNING, "started") }, { taskId: "b", status: st(TaskState.STARTING, "late") }] },
      { nodeId: "n1", updates: [{ taskId: "a", status: st(TaskState.RUNNING, "again") }] },
      { nodeId: "n2", updates: [{ taskId: "a", status: st(TaskState.PREPARING, "other node") }] },
    ]);
    assert.deepEqual(
      out.map((u) => [u.nodeId, u.taskId, u.status.message]),
      [
        ["n1", "a", "again"],
        ["n1", "b", "started"],
        ["n2", "a", "other node"],
      ],
    );
  });
});
