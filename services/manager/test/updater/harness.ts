// A MemoryStore (no proposer), a FakeClock, the orchestration components, the Allocator and an
// Updater, plus a make-believe scheduler and agent that run and stop tasks as told, so that update
// tests drive a cluster.
import { FakeClock, SeededRandom, silentLogger } from "@shoal/common";
import { MemoryStore, TaskState, copyObject, type Service, type ServiceSpec, type Task } from "@shoal/store";
import { Allocator } from "../../src/allocator/index.js";
import { Orchestration } from "../../src/orchestrator/index.js";
import { Updater, rollbackToPrevious, withNewSpec } from "../../src/updater/index.js";
import { NOW, nodeObj, service as serviceObj } from "../orchestrator/fixtures.js";

export class UpdateHarness {
  readonly clock = new FakeClock(NOW);
  readonly store = new MemoryStore({}, { clock: this.clock });
  orchestration: Orchestration;
  updater: Updater;
  allocator: Allocator;
  /** The agent fails tasks for which this returns true instead of running them. */
  fails: (task: Task) => boolean = () => false;
  private seed = 1;

  constructor(private readonly opts: { updaterTaskBudget?: number } = {}) {
    this.orchestration = this.newOrchestration();
    this.updater = this.newUpdater();
    this.allocator = this.newAllocator();
  }

  private newAllocator(): Allocator {
    return new Allocator({}, { store: this.store, logger: silentLogger(), clock: this.clock });
  }

  private newOrchestration(): Orchestration {
    return new Orchestration({}, { store: this.store, logger: silentLogger(), clock: this.clock, random: new SeededRandom(this.seed++) });
  }

  private newUpdater(): Updater {
    return new Updater(this.opts.updaterTaskBudget === undefined ? {} : { passTaskBudget: this.opts.updaterTaskBudget }, { store: this.store, logger: silentLogger(), clock: this.clock, random: new SeededRandom(1000 + this.seed++) });
  }

  async start(nodes = ["n1", "n2", "n3"]): Promise<void> {
    await this.store.update((tx) => nodes.forEach((id) => tx.create("node", nodeObj(id))));
    this.orchestration.start();
    this.allocator.start();
    this.updater.start();
    await this.settle();
  }

  async stop(): Promise<void> {
    await this.updater.stop();
    await this.allocator.stop();
    await this.orchestration.stop();
    this.store.close();
  }

  /** What a new leader does: fresh components, nothing remembered, the same store. */
  async changeLeader(): Promise<void> {
    await this.updater.stop();
    await this.allocator.stop();
    await this.orchestration.stop();
    this.orchestration = this.newOrchestration();
    this.updater = this.newUpdater();
    this.allocator = this.newAllocator();
    this.orchestration.start();
    this.allocator.start();
    this.updater.start();
    await this.settle();
  }

  async settle(): Promise<void> {
    const o = this.orchestration;
    const parts = [o.replicated, o.global, o.jobs, o.constraintEnforcer, o.taskReaper, this.allocator, this.updater];
    for (;;) {
      await o.whenIdle();
      await this.allocator.whenIdle();
      await this.updater.whenIdle();
      if (parts.every((p) => p.isIdle())) return;
    }
  }

  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.settle();
  }

  /** Creates a replicated service (image v1) with `replicas` and the given spec parts, and runs it. */
  async createService(id: string, replicas: number, spec: Partial<ServiceSpec> = {}): Promise<void> {
    const svc = serviceObj(id, { replicated: { replicas } }, { spec });
    svc.spec.task.container!.image = "img:v1";
    await this.store.update((tx) => tx.create("service", svc));
    await this.settle();
    await this.converge();
  }

  /** A user's `docker service update`: edits the spec as the API does (previous spec kept, status reset). */
  async updateSpec(id: string, edit: (spec: ServiceSpec) => void): Promise<void> {
    await this.store.update((tx) => {
      const cur = tx.get("service", id)!;
      const spec = copyObject(cur.spec);
      edit(spec);
      tx.update("service", withNewSpec(cur, spec));
    });
    await this.settle();
  }

  async rollback(id: string): Promise<void> {
    await this.store.update((tx) => tx.update("service", rollbackToPrevious(tx.get("service", id)!, this.clock.now())));
    await this.settle();
  }

  service(id: string): Service {
    return this.store.view((tx) => tx.get("service", id)!);
  }

  tasks(serviceId: string): Task[] {
    return this.store.view((tx) => tx.find("task", { serviceId }));
  }

  /** Tasks the agent reports RUNNING and the manager still wants. */
  running(serviceId: string): Task[] {
    return this.tasks(serviceId).filter((t) => t.status.state === TaskState.RUNNING && t.desiredState <= TaskState.RUNNING);
  }

  /** Images of the wanted tasks, by slot: "1:img:v2". */
  wantedImages(serviceId: string): string[] {
    return this.tasks(serviceId)
      .filter((t) => t.desiredState <= TaskState.RUNNING)
      .map((t) => `${t.slot}:${t.spec.container!.image}`)
      .sort();
  }

  /**
   * One round of the scheduler and agent: every allocated task (PENDING or later) told to run
   * (desiredState RUNNING) and not running yet is placed and RUNNING (or FAILED, per `fails`);
   * every running task told to stop is SHUTDOWN.
   * Returns how many tasks changed.
   */
  async agentStep(): Promise<number> {
    const nodes = this.store.view((tx) => tx.find("node").map((n) => n.id));
    let changed = 0;
    let i = 0;
    for (const t of this.store.view((tx) => tx.find("task")).sort((a, b) => a.slot - b.slot || a.meta.createdAt - b.meta.createdAt)) {
      let state: TaskState | undefined;
      if (t.desiredState === TaskState.RUNNING && t.status.state >= TaskState.PENDING && t.status.state < TaskState.RUNNING) state = this.fails(t) ? TaskState.FAILED : TaskState.RUNNING;
      else if (t.desiredState >= TaskState.SHUTDOWN && t.status.state <= TaskState.RUNNING) state = TaskState.SHUTDOWN;
      if (state === undefined) continue;
      changed++;
      await this.store.update((tx) => {
        const cur = copyObject(tx.get("task", t.id)!);
        if (cur.nodeId === "") cur.nodeId = nodes[i++ % nodes.length]!;
        cur.status = { ...cur.status, state, timestamp: this.clock.now() };
        tx.update("task", cur);
      });
    }
    await this.settle();
    return changed;
  }

  /** Agent rounds until nothing changes (at most `rounds`); `check` runs after each round. */
  async converge(rounds = 50, check?: () => void): Promise<void> {
    for (let r = 0; r < rounds; r++) {
      const changed = await this.agentStep();
      check?.();
      if (changed === 0) return;
    }
    throw new Error("agent did not converge");
  }
}
