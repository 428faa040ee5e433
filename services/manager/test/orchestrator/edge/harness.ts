// A MemoryStore (no proposer), a FakeClock and the orchestration components, plus the writes the
// scheduler and agents would make, so that edge tests can drive a cluster by hand.
import { FakeClock, SeededRandom, silentLogger } from "@shoal/common";
import { MemoryStore, TaskState, copyObject, type Node, type ObjectOf, type Service, type Task } from "@shoal/store";
import { Orchestration } from "../../../src/orchestrator/index.js";
import { NOW, nodeObj, type NodeOpts } from "../fixtures.js";

export class Harness {
  readonly clock = new FakeClock(NOW);
  readonly store: MemoryStore;
  orchestration: Orchestration;

  constructor(private readonly opts: { watchQueueLimit?: number; passTaskBudget?: number; passCreateBudget?: number } = {}) {
    this.store = new MemoryStore(opts.watchQueueLimit === undefined ? {} : { watchQueueLimit: opts.watchQueueLimit }, { clock: this.clock });
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
    return new Orchestration(opts, { store: this.store, logger: silentLogger(), clock: this.clock, random: new SeededRandom(7) });
  }

  async start(): Promise<void> {
    this.orchestration.start();
    await this.settle();
  }

  async stop(): Promise<void> {
    await this.orchestration.stop();
    this.store.close();
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
