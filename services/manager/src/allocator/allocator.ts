// The allocator's edge (leader-only): watches services and tasks, writes the endpoints
// core/endpoints.ts decides and moves NEW tasks to PENDING (core/tasks.ts) — all in one store batch
// per pass, decided once the batch holds the store's write lock, each write in its own transaction,
// re-decided inside it on the state it reads (so a task sees the endpoint written just before it). Owns the watch and the marks; owns no
// decisions, and keeps nothing in memory that a new leader would need: allocations are in the store.
import { errorCode } from "@shoal/common";
import { TaskState, type Kind, type ReadTx, type Service, type StoreEvent, type Task, type WriteTx } from "@shoal/store";
import { conflictError, CONFLICT_CODES } from "../orchestrator/errors.js";
import { ReconcileLoop, type LoopModules, type PassResult } from "../orchestrator/edge/reconcile-loop.js";
import { allocateEndpoints, type EndpointChange } from "./core/endpoints.js";
import { conflictMessage } from "./core/ports.js";
import { allocateTask } from "./core/tasks.js";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no options yet; kept for the (opts, modules) convention
export interface AllocatorOptions {}

export class Allocator extends ReconcileLoop {
  protected readonly kinds: Kind[] = ["service", "task"];
  private servicesChanged = true;
  private allTasks = true;
  private markedTasks = new Set<string>();
  private markedServices = new Set<string>();

  constructor(_opts: AllocatorOptions, modules: LoopModules) {
    super("allocator", modules);
  }

  protected markAll(): void {
    this.servicesChanged = true;
    this.allTasks = true;
  }

  protected observe(event: StoreEvent): boolean {
    if (event.kind === "service") {
      // Any service change may free or claim ports of others (a delete frees its ports).
      this.servicesChanged = true;
      this.markedServices.add((event.object as Service).id);
      return true;
    }
    const task = event.object as Task;
    if (event.action === "delete" || task.status.state !== TaskState.NEW) return false;
    this.markedTasks.add(task.id);
    return true;
  }

  protected async pass(): Promise<PassResult> {
    let conflicted = false;
    const skip = (err: unknown, what: string): void => {
      if (!CONFLICT_CODES.has(errorCode(err) ?? "")) throw err;
      conflicted = true;
      this.log.debug({ err }, `${what} skipped: changed since it was decided`);
    };
    const pending: string[] = [];
    const written: EndpointChange[] = [];
    // Decided once the batch holds the store's write lock: tasks created while other components
    // were writing are in this pass, so a busy store gets fewer, fuller raft entries.
    await this.store.batch(async (batch) => {
      await this.settleEvents();
      const { endpoints, taskIds } = this.store.view((tx) => this.decide(tx));
      for (const change of endpoints) {
        try {
          await batch.update((tx) => writeEndpoint(tx, change));
          written.push(change);
        } catch (err) {
          skip(err, `endpoint of service ${change.serviceId}`);
        }
      }
      for (const id of taskIds) {
        try {
          const moved = await batch.update((tx) => {
            const task = tx.get("task", id);
            const next = task === undefined ? undefined : allocateTask(task, tx.get("service", task.serviceId), this.clock.now());
            if (next !== undefined) tx.update("task", next);
            return next !== undefined;
          });
          if (moved) pending.push(id);
        } catch (err) {
          skip(err, `task ${id}`);
        }
      }
    });
    for (const c of written) {
      this.log.info({ serviceId: c.serviceId, ports: c.endpoint?.ports?.map((p) => p.publishedPort) }, "endpoint allocated");
      for (const k of c.conflicts) this.log.warn({ serviceId: c.serviceId }, `published port left out: ${conflictMessage(k)}`);
    }
    if (pending.length > 0) this.log.debug({ tasks: pending }, "tasks allocated");
    return { retry: conflicted };
  }

  private decide(tx: ReadTx): { endpoints: EndpointChange[]; taskIds: string[] } {
    const endpoints = this.servicesChanged ? allocateEndpoints(tx.find("service")) : [];
    const candidates = this.allTasks ? tx.find("task") : [...this.markedTasks].map((id) => tx.get("task", id)).filter((t) => t !== undefined);
    // A service whose endpoint is (re)allocated releases its waiting tasks.
    for (const id of [...this.markedServices, ...endpoints.map((e) => e.serviceId)]) candidates.push(...tx.find("task", { serviceId: id }));
    this.servicesChanged = false;
    this.allTasks = false;
    this.markedTasks = new Set();
    this.markedServices = new Set();
    const ids = new Set(candidates.filter((t) => t.status.state === TaskState.NEW).map((t) => t.id));
    return { endpoints, taskIds: [...ids].sort() };
  }
}

function writeEndpoint(tx: WriteTx, change: EndpointChange): void {
  const cur = tx.get("service", change.serviceId);
  if (cur === undefined || cur.meta.version.index !== change.version) throw conflictError(`service ${change.serviceId}`, { serviceId: change.serviceId });
  const next: Service = { ...cur };
  if (change.endpoint === undefined) delete next.endpoint;
  else next.endpoint = change.endpoint;
  tx.update("service", next);
}
