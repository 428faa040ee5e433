// A MemoryStore (no proposer), a FakeClock and the orchestration components, plus the writes the
// scheduler and agents would make, so that edge tests can drive a cluster by hand. With
// `scheduler`, a real Scheduler runs too and the orchestrators place new tasks through it.
import { FakeClock, SeededRandom, silentLogger } from "@shoal/common";
import { MemoryStore, TaskState, copyObject, type Node, type ObjectOf, type Service, type Task } from "@shoal/store";
import { Orchestration } from "../../../src/orchestrator/index.js";
import { Scheduler } from "../../../src/scheduler/index.js";
import { NOW, nodeObj, type NodeOpts } from "../fixtures.js";

const SCHEDULER_TICK_MS = 50;

export class Harness {
  readonly clock = new FakeClock(NOW);
  readonly store: MemoryStore;
  orchestration: Orchestration;
  readonly scheduler: Scheduler | undefined;

  constructor(private readonly opts: { watchQueueLimit?: number; passTaskBudget?: number; passCreateBudget?: number; scheduler?: boolean } = {}) {
    this.store = new MemoryStore(opts.watchQueueLimit === undefined ? {} : { watchQueueLimit: opts.watchQueueLimit }, { clock: this.clock });
    if (opts.scheduler === true) this.scheduler = new Scheduler({ tickMs: SCHEDULER_TICK_MS }, { store: this.store, logger: silentLogger(), clock: this.clock });
    this.orchestration = this.newOrchestration();
  }

  /** What a new leader does: fresh components (no memory of the old ones) on the same state. */
  async changeLeader(): Promise<void> {
    await this.orchestration.stop();
    this.orchestration = this.newOrchestration();
    await this.start();
  }

  private newOrchestration(): Orchestration {
    const opts = {
      ...(this.opts.passTaskBudget === undefined ? {} : { passTaskBudget: this.opts.passTaskBudget }),
      ...(this.opts.passCreateBudget === undefined ? {} : { passCreateBudget: this.opts.passCreateBudget }),
    };
    const modules = { store: this.store, logger: silentLogger(), clock: this.clock, random: new SeededRandom(7) };
    return new Orchestration(opts, this.scheduler === undefined ? modules : { ...modules, placer: this.scheduler });
  }

  async start(): Promise<void> {
    this.scheduler?.start();
    this.orchestration.start();
    await this.settle();
  }

  async stop(): Promise<void> {
    await this.orchestration.stop();
    await this.scheduler?.stop();
    this.store.close();
  }

  /** Runs the scheduler's passes (its timers) until it has nothing left to do. */
  async settleScheduler(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      await this.settle();
      if (this.scheduler?.isIdle() !== false) {
        await new Promise((r) => setImmediate(r));
        if (this.scheduler?.isIdle() !== false) return;
      }
      await this.advance(SCHEDULER_TICK_MS);
    }
    throw new Error("the scheduler did not settle");
  }

  settle(): Promise<void> {
    return this.orchestration.whenIdle();
  }

  /** Moves the fake clock and lets the components react to the timers that fired. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.settle();
  }

  async addNode(id: string, opts: NodeOpts = {}): Promise<void> {
    await this.store.update((tx) => tx.create("node", nodeObj(id, opts)));
    await this.settle();
  }

  updateNode(id: string, edit: (n: Node) => void): Promise<void> {
    return this.edit("node", id, edit);
  }

  async createService(svc: Service): Promise<void> {
    await this.store.update((tx) => tx.create("service", svc));
    await this.settle();
  }

  updateService(id: string, edit: (s: Service) => void): Promise<void> {
    return this.edit("service", id, edit);
  }

  /** Reads a copy of the object, lets `change` modify it, writes it back and lets the components react. */
  async edit<K extends "node" | "service" | "task">(kind: K, id: string, change: (obj: ObjectOf<K>) => void): Promise<void> {
    await this.store.update((tx) => {
      const obj = copyObject(tx.get(kind, id)!);
      change(obj);
      tx.update(kind, obj);
    });
    await this.settle();
  }

  async deleteService(id: string): Promise<void> {
    await this.store.update((tx) => tx.delete("service", id));
    await this.settle();
  }

  tasks(serviceId: string): Task[] {
    return this.store.view((tx) => tx.find("task", { serviceId })).sort((a, b) => a.slot - b.slot || a.meta.createdAt - b.meta.createdAt || a.meta.version.index - b.meta.version.index);
  }

  /** Tasks the service wants (desired up to RUNNING/COMPLETE). */
  wanted(serviceId: string): Task[] {
    return this.tasks(serviceId).filter((t) => t.desiredState <= TaskState.COMPLETE);
  }

  /** What the scheduler and agent would write: the task is on `nodeId` (if given) and in `state`. */
  setState(taskId: string, state: TaskState, nodeId?: string): Promise<void> {
    return this.edit("task", taskId, (t) => {
      if (nodeId !== undefined) t.nodeId = nodeId;
      t.status = { ...t.status, state, timestamp: this.clock.now() };
    });
  }

  /** Every wanted task not yet assigned (NEW, or PENDING: born allocated) is placed round-robin on `nodes` and reported RUNNING. */
  async runAll(serviceId: string, nodes: string[]): Promise<void> {
    let i = 0;
    for (const t of this.wanted(serviceId)) {
      if (t.status.state > TaskState.PENDING || t.desiredState === TaskState.READY) continue;
      await this.setState(t.id, TaskState.RUNNING, t.nodeId !== "" ? t.nodeId : nodes[i++ % nodes.length]);
    }
  }
}
