// The AssignmentsClient against fake Dispatcher servers on loopback (insecure): full set to the
// worker, status reports (on the status stream, or as calls to a manager without one), redirects
// to the leader, reconnect with a full resync, retried and refused reports.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { freeLoopbackPorts, silentLogger } from "@shoal/common";
import { StatusError, controlpb, dispatcherServiceDefinition, toServiceError } from "@shoal/proto";
import { TaskState, type Task, type TaskStatus } from "@shoal/store";
import { AssignmentsClient, SimulatedExecutor, Worker } from "../../src/index.js";
import { assignedTask, until } from "./fixtures.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A Dispatcher that serves given tasks, records status reports, or redirects to another address.
 * Without `statusStream` it lacks ReportTaskStatus, as a manager of an older version does.
 */
class FakeDispatcher {
  readonly server = new grpc.Server();
  readonly statuses = new Map<string, TaskStatus>();
  streams: grpc.ServerWritableStream<controlpb.IAssignmentsRequest, controlpb.AssignmentsMessage>[] = [];
  tasks: Task[] = [];
  redirectTo: string | undefined;
  /** Reports to fail (a call with UNAVAILABLE; on the stream, the stream ends with it). */
  failReports = 0;
  /** Tasks whose reports are refused for good. */
  readonly refuse = new Set<string>();
  /** The states of refused reports, in order of arrival. */
  readonly refusedStates: TaskState[] = [];
  calls = 0;
  statusStreams = 0;

  constructor(statusStream = true) {
    const record = (req: controlpb.UpdateTaskStatusRequest): void => {
      for (const u of req.updates) this.statuses.set(u.taskId, JSON.parse(decoder.decode(u.status)) as TaskStatus);
    };
    const reportTaskStatus = (call: grpc.ServerDuplexStream<controlpb.UpdateTaskStatusRequest, controlpb.TaskStatusAck>): void => {
      this.statusStreams++;
      call.on("data", (req: controlpb.UpdateTaskStatusRequest) => {
        if (this.failReports > 0) {
          this.failReports--;
          call.emit("error", { code: grpc.status.UNAVAILABLE, details: "try later" });
          return;
        }
        const refused = req.updates.find((u: controlpb.ITaskStatusUpdate) => this.refuse.has(u.taskId));
        if (refused !== undefined) {
          for (const u of req.updates) if (this.refuse.has(u.taskId)) this.refusedStates.push((JSON.parse(decoder.decode(u.status)) as TaskStatus).state);
          call.write(controlpb.TaskStatusAck.create({ sequence: req.sequence, errorCode: "ASSIGNMENTS_PERMISSION_DENIED", errorMessage: `task ${refused.taskId} is not yours` }));
          return;
        }
        record(req);
        call.write(controlpb.TaskStatusAck.create({ sequence: req.sequence }));
      });
    };
    this.server.addService(dispatcherServiceDefinition, {
      ...(statusStream ? { reportTaskStatus } : {}),
      heartbeat: (_call: unknown, cb: grpc.sendUnaryData<controlpb.IHeartbeatResponse>) => cb(null, {}),
      assignments: (call: grpc.ServerWritableStream<controlpb.IAssignmentsRequest, controlpb.AssignmentsMessage>) => {
        if (this.redirectTo !== undefined) {
          call.emit("error", toServiceError(new StatusError({ code: "MANAGER_NOT_LEADER", grpcStatus: grpc.status.FAILED_PRECONDITION, metadata: { "shoal-leader-addr": this.redirectTo } }, "not the leader", { temporary: true })));
          return;
        }
        this.streams.push(call);
        call.write(controlpb.AssignmentsMessage.create({ type: controlpb.AssignmentsMessage.Type.COMPLETE, sequence: 1, tasks: this.tasks.map((t) => encoder.encode(JSON.stringify(t))) }));
      },
      updateTaskStatus: (call: grpc.ServerUnaryCall<controlpb.UpdateTaskStatusRequest, unknown>, cb: grpc.sendUnaryData<controlpb.IUpdateTaskStatusResponse>) => {
        this.calls++;
        if (this.failReports > 0) {
          this.failReports--;
          cb({ code: grpc.status.UNAVAILABLE, details: "try later" } as grpc.ServiceError);
          return;
        }
        record(call.request);
        cb(null, {});
      },
    });
  }

  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    return `127.0.0.1:${port}`;
  }

  stateOf(taskId: string): TaskState | undefined {
    return this.statuses.get(taskId)?.state;
  }
}

describe("worker/assignments-client: the agent's assignment stream and status reports", () => {
  let dir: string;
  let leader: FakeDispatcher;
  let follower: FakeDispatcher;
  let leaderAddr: string;
  let followerAddr: string;
  let worker: Worker;
  let client: AssignmentsClient;
  const channels = new Map<string, grpc.Client>();
  const dial = (addr: string): grpc.Client => {
    let c = channels.get(addr);
    if (c === undefined) channels.set(addr, (c = new grpc.Client(addr, grpc.credentials.createInsecure())));
    return c;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "shoal-assign-"));
    const [p1, p2] = await freeLoopbackPorts(2);
    leader = new FakeDispatcher();
    follower = new FakeDispatcher();
    leaderAddr = await leader.listen(p1 as number);
    followerAddr = await follower.listen(p2 as number);
    follower.redirectTo = leaderAddr;
    worker = new Worker({ stateDir: dir, nodeId: "n1" }, { logger: silentLogger(), executor: new SimulatedExecutor() });
    await worker.start();
    client = new AssignmentsClient({ managers: () => [followerAddr] }, { logger: silentLogger(), dial, worker });
  });

  afterEach(async () => {
    await client.stop();
    await worker.stop();
    for (const c of channels.values()) c.close();
    channels.clear();
    leader.server.forceShutdown();
    follower.server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it("follows the follower's redirect, hands the full set to the worker and reports the task RUNNING to the leader", async () => {
    leader.tasks = [assignedTask("t1", "n1")];
    client.start();
    await until("RUNNING at the leader", () => leader.stateOf("t1") === TaskState.RUNNING);
    assert.equal(client.leader, leaderAddr);
    assert.equal(follower.statuses.size, 0);
    assert.equal(leader.calls, 0, "reports go on the status stream");
    assert.equal(leader.statusStreams, 1);
  });

  it("applies incremental sets in sequence: a desired SHUTDOWN is carried out and reported", async () => {
    const t = assignedTask("t1", "n1");
    leader.tasks = [t];
    client.start();
    await until("RUNNING", () => leader.stateOf("t1") === TaskState.RUNNING);
    leader.streams[0]?.write(controlpb.AssignmentsMessage.create({ type: controlpb.AssignmentsMessage.Type.INCREMENTAL, sequence: 2, tasks: [encoder.encode(JSON.stringify({ ...t, desiredState: TaskState.SHUTDOWN }))] }));
    await until("SHUTDOWN", () => leader.stateOf("t1") === TaskState.SHUTDOWN);
  });

  it("reconnects when the stream ends and resyncs with a new full set; the task keeps running", async () => {
    leader.tasks = [assignedTask("t1", "n1")];
    client.start();
    await until("RUNNING", () => leader.stateOf("t1") === TaskState.RUNNING);
    leader.streams[0]?.end();
    await until("a second full set", () => client.resyncs >= 2);
    assert.equal(worker.get("t1")?.status.state, TaskState.RUNNING);
  });

  it("a sequence gap drops the stream and resyncs", async () => {
    leader.tasks = [assignedTask("t1", "n1")];
    client.start();
    await until("connected", () => client.resyncs === 1 && leader.streams.length === 1);
    leader.streams[0]?.write(controlpb.AssignmentsMessage.create({ type: controlpb.AssignmentsMessage.Type.INCREMENTAL, sequence: 5 }));
    await until("a second full set", () => client.resyncs >= 2);
  });

  it("retries failed status reports until the leader takes them, each time on a new stream", async () => {
    leader.failReports = 3;
    leader.tasks = [assignedTask("t1", "n1")];
    client.start();
    await until("RUNNING after retries", () => leader.stateOf("t1") === TaskState.RUNNING);
    assert.equal(leader.failReports, 0);
    assert.equal(leader.statusStreams, 4);
  });

  it("drops a report the leader refuses for good and goes on with later ones on the same stream", async () => {
    leader.refuse.add("t1");
    leader.tasks = [assignedTask("t1", "n1")];
    client.start();
    await until("t1 RUNNING on this node", () => worker.get("t1")?.status.state === TaskState.RUNNING);
    // The worker may report t1's earlier states in messages of their own: wait for the one refusal
    // that carries RUNNING, so no later report of t1 is left to arrive after the refusals end.
    await until("the refusal of RUNNING", () => leader.refusedStates.includes(TaskState.RUNNING));
    leader.refuse.clear();
    leader.streams[0]?.write(controlpb.AssignmentsMessage.create({ type: controlpb.AssignmentsMessage.Type.INCREMENTAL, sequence: 2, tasks: [encoder.encode(JSON.stringify(assignedTask("t2", "n1")))] }));
    await until("t2 RUNNING at the leader", () => leader.stateOf("t2") === TaskState.RUNNING);
    assert.equal(leader.stateOf("t1"), undefined, `the refused report is not sent again (refused: ${leader.refusedStates.join(",")}; got ${JSON.stringify(leader.statuses.get("t1"))})`);
    assert.equal(leader.statusStreams, 1);
  });

  it("moves its stream to the manager the heartbeat session moved to, off an old leader that went silent", async () => {
    // The old leader keeps its stream open and says nothing more, as one behind a partition does.
    leader.tasks = [assignedTask("t1", "n1")];
    client.start();
    await until("t1 RUNNING at the old leader", () => leader.stateOf("t1") === TaskState.RUNNING);
    const next = new FakeDispatcher();
    const [port] = await freeLoopbackPorts(1);
    const nextAddr = await next.listen(port as number);
    try {
      next.tasks = [assignedTask("t1", "n1"), assignedTask("t2", "n1")];
      client.followSession(leaderAddr); // the session is still where the stream is: nothing moves
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(next.streams.length, 0);
      assert.equal(client.resyncs, 1);
      client.followSession(nextAddr);
      await until("t2, which only the new leader has, RUNNING there", () => next.stateOf("t2") === TaskState.RUNNING);
      assert.equal(client.leader, nextAddr);
      assert.equal(worker.get("t1")?.status.state, TaskState.RUNNING);
      assert.equal(leader.streams.length, 1, "the old leader's stream was not opened again");
    } finally {
      await client.stop();
      next.server.forceShutdown();
    }
  });

  it("reports with UpdateTaskStatus calls to a manager that has no status stream", async () => {
    const old = new FakeDispatcher(false);
    const [port] = await freeLoopbackPorts(1);
    const oldAddr = await old.listen(port as number);
    try {
      follower.redirectTo = oldAddr;
      old.tasks = [assignedTask("t1", "n1")];
      client.start();
      await until("RUNNING at the old manager", () => old.stateOf("t1") === TaskState.RUNNING);
      assert.ok(old.calls >= 1);
    } finally {
      await client.stop();
      old.server.forceShutdown();
    }
  });
});
