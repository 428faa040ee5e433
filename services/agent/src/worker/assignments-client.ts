// The agent's two task RPCs with the leader: it keeps the Assignments stream open (following a
// follower's redirect at once, rotating through the managers otherwise, reconnecting whenever the
// stream ends, e.g. on a leadership change, and moving it to the manager the heartbeat session
// moved to) and hands every set to the worker; a sequence gap drops the stream so the next one
// starts with a full set. Status changes from the worker are sent in batches on a ReportTaskStatus
// stream to the same manager (UpdateTaskStatus calls to a manager that lacks the stream); a failed
// send is retried and a newer status of a task replaces the unsent one, so the latest status of
// every task always reaches a leader. After each full set it re-sends the statuses the managers
// have not seen yet. It decides nothing about tasks itself.
import * as grpc from "@grpc/grpc-js";
import { Backoff, describeError, sleep, systemRandom, type Logger, type Random } from "@shoal/common";
import { LEADER_ADDR_KEY, RemoteError, StreamedCalls, callUnary, controlpb, dispatcherServiceDefinition, remoteErrorOf } from "@shoal/proto";
import type { Task, TaskStatus } from "@shoal/store";
import type { AssignmentSet, Worker } from "./worker.js";

export interface AssignmentsClientOptions {
  /** Managers to try (host:port), e.g. the session's list. */
  managers: () => string[];
  /** The leader the heartbeat session reached, tried first. */
  leader?: () => string | undefined;
  /** Most status updates per UpdateTaskStatus call (default 500). */
  maxBatch?: number;
}

export interface AssignmentsClientModules {
  logger: Logger;
  /** A channel to a manager (the session's: AgentSession.client); the owner closes them. */
  dial: (addr: string) => grpc.Client;
  worker: Worker;
  random?: Random;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class AssignmentsClient {
  private readonly log: Logger;
  private readonly random: Random;
  private readonly abort = new AbortController();
  private readonly unsent = new Map<string, TaskStatus>();
  private target: string | undefined;
  /** The manager whose stream is open (the leader), where statuses go. */
  private connected: string | undefined;
  /** The stream being followed (open or opening), and how to drop it for another manager. */
  private stream: { addr: string; moveTo: (addr: string) => void } | undefined;
  private next = 0;
  private loops: Promise<void>[] = [];
  private wakeSender: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private completeSets = 0;
  /** Status reports on a stream to the manager, or as calls to one that lacks the stream. */
  private readonly reports: StreamedCalls<controlpb.IUpdateTaskStatusRequest, controlpb.TaskStatusAck>;
  private statusSequence = 0;

  constructor(
    private readonly opts: AssignmentsClientOptions,
    private readonly modules: AssignmentsClientModules,
  ) {
    this.log = modules.logger.child({ component: "assignments-client" });
    this.random = modules.random ?? systemRandom;
    this.reports = new StreamedCalls(
      dispatcherServiceDefinition.reportTaskStatus,
      async (client, req, timeoutMs) => {
        await callUnary(client, dispatcherServiceDefinition.updateTaskStatus, { updates: req.updates ?? [] }, { deadlineMs: timeoutMs, signal: this.abort.signal });
        // A call answers only once it was written: an ack without an error.
        return controlpb.TaskStatusAck.create({ sequence: req.sequence ?? 0 });
      },
      (addr) => this.log.info({ manager: addr }, "agent: the manager has no status stream; reporting with calls"),
    );
  }

  start(): void {
    if (this.loops.length > 0) return;
    this.unsubscribe = this.modules.worker.onStatus((updates) => {
      for (const u of updates) this.unsent.set(u.taskId, u.status);
      this.poke();
    });
    this.loops = [this.streamLoop(), this.sendLoop()];
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.unsubscribe?.();
    this.poke();
    // Fails a report waiting for its ack, so the send loop sees the abort at once.
    this.reports.close();
    await Promise.all(this.loops);
    this.reports.close();
  }

  /** The manager the stream is open to, if any. */
  get leader(): string | undefined {
    return this.connected;
  }

  /**
   * The agent's heartbeat session is established with `addr`, the leader. A stream open to another
   * manager is dropped and the next one opened to `addr`: a manager cut off by a partition neither
   * ends its stream nor lets TCP notice (the agent sends nothing on it), so without this the stream
   * to an old leader stayed open and silent, and the node never heard of the tasks the new leader
   * gave it. The session's heartbeats, sent on the same channel, are what notice.
   */
  followSession(addr: string): void {
    const s = this.stream;
    if (s === undefined || s.addr === addr) return;
    this.log.info({ from: s.addr, to: addr }, "agent: the session moved to another manager; moving the assignments stream there");
    s.moveTo(addr);
    // A report waiting on the old manager fails now, and goes to the new stream's manager.
    this.reports.close();
  }

  /** Full sets received so far (one per (re)connection). */
  get resyncs(): number {
    return this.completeSets;
  }

  private poke(): void {
    const w = this.wakeSender;
    this.wakeSender = undefined;
    w?.();
  }

  private pick(): string | undefined {
    if (this.target !== undefined) return this.target;
    const leader = this.opts.leader?.();
    if (leader !== undefined) return leader;
    const managers = this.opts.managers();
    if (managers.length === 0) return undefined;
    return managers[this.next++ % managers.length];
  }

  private async streamLoop(): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 }, () => this.random.next());
    while (!signal.aborted) {
      const addr = this.pick();
      const redirect = addr === undefined ? undefined : await this.attempt(addr, () => backoff.reset());
      if (redirect !== undefined) {
        this.target = redirect;
        continue;
      }
      this.target = undefined;
      await sleep(backoff.next(), signal).catch(() => undefined);
    }
  }

  /**
   * Follows one stream to its end; returns the leader's address when redirected there, or the
   * session's manager when the stream was dropped to follow it there.
   */
  private async attempt(addr: string, onComplete: () => void): Promise<string | undefined> {
    try {
      const moved = await this.follow(addr, onComplete);
      if (moved !== undefined) return moved;
      this.log.info({ manager: addr }, "agent: assignments stream ended; reconnecting");
    } catch (err) {
      if (this.abort.signal.aborted) return undefined;
      const redirect = err instanceof RemoteError ? err.meta[LEADER_ADDR_KEY] : undefined;
      if (typeof redirect === "string" && redirect !== "" && redirect !== addr) return redirect;
      this.log.debug({ manager: addr, err: describeError(err) }, "agent: assignments stream failed");
    } finally {
      this.connected = undefined;
    }
    return undefined;
  }

  /**
   * One stream: resolves when the manager ends it (with the manager to go to when it was dropped
   * to follow the session there), rejects on errors (RemoteError).
   */
  private follow(addr: string, onComplete: () => void): Promise<string | undefined> {
    const m = dispatcherServiceDefinition.assignments;
    return new Promise<string | undefined>((resolve, reject) => {
      const call = this.modules.dial(addr).makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, new grpc.Metadata(), {});
      let expected = 1;
      let applying: Promise<void> = Promise.resolve();
      let settled = false;
      const finish = (err?: unknown, moveTo?: string): void => {
        if (settled) return;
        settled = true;
        if (this.stream === stream) this.stream = undefined;
        this.abort.signal.removeEventListener("abort", onAbort);
        call.cancel();
        // Let what was received be applied before reconnecting (the next full set comes after).
        void applying.then(() => (err === undefined ? resolve(moveTo) : reject(err)));
      };
      const onAbort = (): void => finish();
      const stream = { addr, moveTo: (to: string) => finish(undefined, to) };
      this.stream = stream;
      this.abort.signal.addEventListener("abort", onAbort, { once: true });
      // Stopped before the stream opened: an abort event that already fired never reaches it.
      if (this.abort.signal.aborted) onAbort();
      call.on("data", (msg: controlpb.AssignmentsMessage) => {
        const seq = Number(msg.sequence);
        if (seq !== expected) {
          this.log.warn({ manager: addr, expected, got: seq }, "agent: assignments out of sequence; resyncing");
          finish();
          return;
        }
        expected++;
        const complete = msg.type === controlpb.AssignmentsMessage.Type.COMPLETE;
        if (complete) {
          this.connected = addr;
          this.completeSets++;
          onComplete();
        }
        const set = this.decode(msg);
        applying = applying
          .then(() => {
            // Before applying: a status the worker reaches while applying is reported anyway, and
            // must not be queued a second time from here once it was sent (or refused).
            if (complete) this.resendBehind(set.tasks);
            return this.modules.worker.applyAssignments(set);
          })
          .catch((err: unknown) => this.log.error({ err: describeError(err) }, "agent: could not apply assignments"));
      });
      call.on("error", (err: grpc.ServiceError) => {
        if (err.code === grpc.status.CANCELLED && this.abort.signal.aborted) finish();
        else finish(remoteErrorOf(err, { temporary: true }));
      });
      call.on("end", () => finish());
    });
  }

  private decode(msg: controlpb.AssignmentsMessage): AssignmentSet {
    const tasks = (msg.tasks as Uint8Array[]).map((b: Uint8Array) => JSON.parse(decoder.decode(b)) as Task);
    const set: AssignmentSet = { type: msg.type === controlpb.AssignmentsMessage.Type.COMPLETE ? "complete" : "incremental", tasks };
    if ((msg.removedTaskIds ?? []).length > 0) set.removed = [...msg.removedTaskIds];
    return set;
  }

  /** After a full set: queue every status the managers are behind on (lost with an old leader). */
  private resendBehind(tasks: Task[]): void {
    for (const t of tasks) {
      const ours = this.modules.worker.get(t.id)?.status;
      if (ours !== undefined && ours.state > t.status.state && !this.unsent.has(t.id)) this.unsent.set(t.id, ours);
    }
    this.poke();
  }

  private async sendLoop(): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 }, () => this.random.next());
    const max = this.opts.maxBatch ?? 500;
    while (!signal.aborted) {
      const addr = this.connected;
      if (this.unsent.size === 0 || addr === undefined) {
        await new Promise<void>((resolve) => {
          this.wakeSender = resolve;
          // Not connected: look again soon (the stream loop does not wake the sender).
          if (addr === undefined && this.unsent.size > 0) setTimeout(resolve, 100).unref();
        });
        continue;
      }
      const batch = [...this.unsent].slice(0, max);
      const updates = batch.map(([taskId, status]) => ({ taskId, status: encoder.encode(JSON.stringify(status)) }));
      try {
        const ack = await this.reports.request(addr, this.modules.dial(addr), { sequence: ++this.statusSequence, updates }, 10_000);
        if (ack.errorCode !== "") {
          // Refused in the ack: the stream itself carries on (status OK).
          throw new RemoteError({ code: ack.errorCode, grpcStatus: grpc.status.OK }, ack.errorMessage, { temporary: false });
        }
        // Only what was sent: a newer status that arrived meanwhile stays queued.
        for (const [id, status] of batch) if (this.unsent.get(id) === status) this.unsent.delete(id);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof RemoteError && !err.temporary) {
          // Refused for good (not our task, malformed): retrying would block every later report.
          this.log.error({ manager: addr, err: describeError(err) }, "agent: status report refused; dropping it");
          for (const [id, status] of batch) if (this.unsent.get(id) === status) this.unsent.delete(id);
          continue;
        }
        this.log.debug({ manager: addr, err: describeError(err) }, "agent: status report failed; will retry");
        // The next attempt opens a new stream (the leader may have changed meanwhile).
        await sleep(backoff.next(), signal).catch(() => undefined);
      }
    }
  }
}
