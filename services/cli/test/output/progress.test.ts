import assert from "node:assert/strict";
import { progressBar, ProgressWriter, renderProgress, stepProgress, watchServiceProgress, type ApiClient, type WatchState } from "../../src/index.js";
import { managerNode, SELF_ID, WORKER_ID, workerNode } from "../support/fixtures.js";
import { service, serviceSpec, task } from "../support/service-fixtures.js";

const FULL = `[${"=".repeat(50)}>]`;
const nodes = [managerNode(), workerNode()];

describe("service progress", () => {
  describe("renderProgress", () => {
    it("draws one line per slot with a bar by task state and an overall count", () => {
      const f = renderProgress(service(), [task(1, "running"), task(2, "preparing"), task(3, "new")], nodes);
      assert.deepEqual(f.lines, [
        "overall progress: 1 out of 3 tasks",
        `1/3: running   ${FULL}`,
        `2/3: preparing [${"=".repeat(33)}>${" ".repeat(17)}]`,
        `3/3: new       [${"=".repeat(5)}>${" ".repeat(45)}]`,
      ]);
      assert.equal(f.done, 1);
      assert.equal(f.total, 3);
    });

    it("shows Status.Err instead of the bar and an empty line for a slot without a task", () => {
      const f = renderProgress(service(), [task(1, "rejected", { Status: { State: "rejected", Err: "no suitable node" } })], nodes);
      assert.deepEqual(f.lines.slice(1), ["1/3: no suitable node", "2/3: ", "3/3: "]);
    });

    it("counts a replicated job's slot 0, which the API leaves out of the task as Docker's does", () => {
      const job = service({ Spec: serviceSpec({ Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 2 } } }) });
      const slot0 = task(0, "complete", { DesiredState: "complete" });
      delete slot0.Slot;
      const f = renderProgress(job, [slot0, task(1, "complete", { DesiredState: "complete" })], nodes);
      assert.equal(f.done, 2, f.lines.join("\n"));
      assert.equal(f.total, 2);
    });

    it("ignores tasks on down or unknown nodes and tasks in states docker does not number", () => {
      const down = workerNode({ Status: { State: "down" } });
      const f = renderProgress(service(), [task(2, "running"), task(1, "running", { NodeID: "gone" }), task(3, "running", { DesiredState: "remove" })], [managerNode(), down]);
      assert.equal(f.done, 0);
      assert.deepEqual(f.lines.slice(1), ["1/3: ", "2/3: ", "3/3: "]);
    });

    it("numbers the cluster's slots 1..replicas in slot order, so slots left after a scale-down still converge", () => {
      const f = renderProgress(service(), [task(7, "running"), task(2, "running"), task(5, "starting")], nodes);
      assert.equal(f.done, 2);
      assert.deepEqual(f.lines.slice(1), [`1/3: running   ${FULL}`, `2/3: starting  [${"=".repeat(44)}>${" ".repeat(6)}]`, `3/3: running   ${FULL}`]);
    });

    it("prefers a task meant to run over one being shut down in a slot, then the one further behind", () => {
      const f = renderProgress(service(), [task(1, "running", { DesiredState: "shutdown", ID: "old" }), task(1, "starting")], nodes);
      assert.match(f.lines[1]!, /^1\/3: starting/);
      const startFirst = renderProgress(service(), [task(1, "running", { ID: "a" }), task(1, "preparing", { ID: "b" })], nodes);
      assert.match(startFirst.lines[1]!, /^1\/3: preparing/);
      assert.equal(startFirst.done, 0);
    });

    it("puts an error on one line of at most 75 characters", () => {
      const err = `line one\n${"x".repeat(100)}`;
      const f = renderProgress(service(), [task(1, "failed", { Status: { State: "failed", Err: err } })], nodes);
      assert.equal(f.lines[1], `1/3: line one ${"x".repeat(65)}…`);
    });

    it("while rolling back says so on the overall line and runs the bars backwards", () => {
      const f = renderProgress(service(), [task(1, "running"), task(2, "new")], nodes, true);
      assert.deepEqual(f.lines.slice(0, 3), [
        "overall progress: rolling back update: 1 out of 3 tasks",
        `1/3: running   [>${" ".repeat(50)}]`,
        `2/3: new       [${"=".repeat(44)}>${" ".repeat(6)}]`,
      ]);
    });

    it("draws one line per node with an up-to-date task for a global service, and waits while there is none", () => {
      const g = service({ Spec: serviceSpec({ Mode: { Global: {} } }) });
      const f = renderProgress(g, [task(0, "running", { NodeID: SELF_ID, Slot: 0 }), task(0, "assigned", { NodeID: WORKER_ID, Slot: 0 })], nodes);
      assert.deepEqual(f.lines, ["overall progress: 1 out of 2 tasks", `${SELF_ID.slice(0, 12)}: running   ${FULL}`, `${WORKER_ID.slice(0, 12)}: assigned  [${"=".repeat(22)}>${" ".repeat(28)}]`]);
      const none = renderProgress(g, [], nodes);
      assert.deepEqual(none.lines, ["overall progress: waiting for new tasks"]);
      assert.equal(stepProgress({ rollback: false }, g, [], nodes, 0).kind, "continue");
    });

    it("draws only the overall line above 100 slots, and a service scaled to 0 has converged", () => {
      const big = service({ Spec: serviceSpec({ Mode: { Replicated: { Replicas: 101 } } }) });
      assert.deepEqual(renderProgress(big, [task(1, "running")], nodes).lines, ["overall progress: 1 out of 101 tasks"]);
      const zero = service({ Spec: serviceSpec({ Mode: { Replicated: { Replicas: 0 } } }) });
      assert.equal(stepProgress({ rollback: false }, zero, [], nodes, 0).kind, "done");
    });

    it("numbers states like docker: new is 1/9 of the bar, running all of it", () => {
      assert.equal(progressBar("running"), FULL);
      assert.equal(progressBar("shutdown"), "");
      assert.equal(progressBar("new"), `[${"=".repeat(5)}>${" ".repeat(45)}]`);
      assert.equal(progressBar("starting"), `[${"=".repeat(44)}>${" ".repeat(6)}]`);
    });
  });

  describe("stepProgress", () => {
    const all = [task(1, "running"), task(2, "running"), task(3, "running")];

    it("waits the monitor period once all run, counting seconds down, then reports converged", () => {
      const s = service({ Spec: serviceSpec({ UpdateConfig: { Monitor: 5_000_000_000 } }) });
      const st: WatchState = { rollback: false };
      const a = stepProgress(st, s, all, nodes, 1_000);
      assert.equal(a.kind, "continue");
      assert.equal(a.lines.at(-1), "verify: Waiting 5 seconds to verify that tasks are stable...");
      assert.equal(stepProgress(st, s, all, nodes, 2_500).lines.at(-1), "verify: Waiting 4 seconds to verify that tasks are stable...");
      const done = stepProgress(st, s, all, nodes, 6_000);
      assert.equal(done.kind, "done");
      assert.equal(done.lines.at(-1), "verify: Service web converged");
    });

    it("starts the monitor period again when a task stops running, saying it detected a failure", () => {
      const s = service({ Spec: serviceSpec({ UpdateConfig: { Monitor: 5_000_000_000 } }) });
      const st: WatchState = { rollback: false };
      stepProgress(st, s, all, nodes, 0);
      const lost = stepProgress(st, s, [task(1, "running"), task(2, "failed")], nodes, 3_000);
      assert.equal(lost.lines.at(-1), "verify: Detected task failure");
      assert.equal(st.convergedAtMs, undefined);
      assert.equal(stepProgress(st, s, all, nodes, 4_000).kind, "continue");
      assert.equal(stepProgress(st, s, all, nodes, 9_000).kind, "done");
    });

    it("fails with the message when the update is paused", () => {
      const s = service({ UpdateStatus: { State: "paused", Message: "update paused due to failure or early termination of task x" } });
      const step = stepProgress({ rollback: false }, s, all, nodes, 0);
      assert.equal(step.kind, "failed");
      assert.equal(step.kind === "failed" && step.message, "service update paused: update paused due to failure or early termination of task x");
    });

    it("follows a rollback, saying so, and verifies it with the UpdateConfig monitor as docker", () => {
      const s = service({ UpdateStatus: { State: "rollback_started", Message: "update rolled back due to failure" }, Spec: serviceSpec({ UpdateConfig: { Monitor: 2_000_000_000 }, RollbackConfig: { Monitor: 0 } }) });
      const st: WatchState = { rollback: false };
      const step = stepProgress(st, s, all, nodes, 0);
      assert.equal(st.rollback, true);
      assert.equal(step.kind, "continue");
      assert.deepEqual(step.lines.slice(0, 2), ["rollback: update rolled back due to failure", "overall progress: rolling back update: 3 out of 3 tasks"]);
      assert.equal(step.lines.at(-1), "verify: Waiting 2 seconds to verify that tasks are stable...");
      assert.equal(stepProgress(st, s, all, nodes, 2_000).kind, "done");
    });

    it("a new update (updating) is no longer drawn as a rollback", () => {
      const st: WatchState = { rollback: true };
      stepProgress(st, service({ UpdateStatus: { State: "updating" } }), [], nodes, 0);
      assert.equal(st.rollback, false);
    });

    it("ends at once when the update completed before a converged poll", () => {
      const s = service({ UpdateStatus: { State: "completed" } });
      assert.equal(stepProgress({ rollback: false }, s, [], nodes, 0).kind, "done");
      assert.equal(stepProgress({ rollback: false }, s, all, nodes, 0).kind, "done");
    });

    it("follows a completed rollback until it converged, then prints the rollback's message", () => {
      const r = service({ UpdateStatus: { State: "rollback_completed", Message: "rollback completed" } });
      const st: WatchState = { rollback: false };
      assert.equal(stepProgress(st, r, [task(1, "running")], nodes, 0).kind, "continue");
      const step = stepProgress(st, r, all, nodes, 100);
      assert.equal(step.kind, "done");
      assert.deepEqual(step.lines.slice(-2), ["verify: Service web converged", "rollback: rollback completed"]);
    });

    it("with failOnRollback, a rollback of the update fails the watch once the rollback converged; a rollback asked for does not", () => {
      const s = service({ UpdateStatus: { State: "rollback_started", Message: "update rolled back due to failure of task x" }, Spec: serviceSpec({ UpdateConfig: { Monitor: 1_000_000_000 } }) });
      const st: WatchState = { rollback: false, failOnRollback: true };
      assert.equal(stepProgress(st, s, [task(1, "running")], nodes, 0).kind, "continue");
      assert.equal(stepProgress(st, s, all, nodes, 100).kind, "continue", "it still verifies the rollback for the monitor period");
      // The status moved on to rollback_completed meanwhile: the first message is the one kept.
      const done = service({ UpdateStatus: { State: "rollback_completed", Message: "rollback completed" }, Spec: serviceSpec({ UpdateConfig: { Monitor: 1_000_000_000 } }) });
      const step = stepProgress(st, done, all, nodes, 1_100);
      assert.equal(step.kind, "failed");
      assert.equal(step.kind === "failed" && step.message, "service rolled back: update rolled back due to failure of task x");
      assert.equal(step.lines.at(-1), "verify: Service web converged on its previous spec");
      // Without it (service rollback, or docker's reasoning), the same polls end converged.
      const plain: WatchState = { rollback: false };
      stepProgress(plain, s, all, nodes, 0);
      assert.equal(stepProgress(plain, done, all, nodes, 1_100).kind, "done");
    });

    it("fails with the message when a rollback pauses", () => {
      const s = service({ UpdateStatus: { State: "rollback_paused", Message: "rollback paused due to failure of task y" } });
      const step = stepProgress({ rollback: true }, s, all, nodes, 0);
      assert.equal(step.kind === "failed" && step.message, "service rollback paused: rollback paused due to failure of task y");
    });
  });

  describe("watchServiceProgress", () => {
    it("stops watching when its signal aborts, without an error", async () => {
      let gets = 0;
      const client = {
        get: (path: string): Promise<unknown> => {
          gets++;
          if (path.startsWith("/services/")) return Promise.resolve(service());
          if (path === "/tasks") return Promise.resolve([]);
          return Promise.resolve(nodes);
        },
      } as unknown as ApiClient;
      const abort = new AbortController();
      const result = await watchServiceProgress(client, "web", { write: () => true }, { signal: abort.signal }, {
        nowMs: () => 0,
        sleep: () => {
          abort.abort();
          return Promise.resolve();
        },
      });
      assert.equal(result, "interrupted");
      assert.equal(gets, 3);
    });
  });

  describe("ProgressWriter", () => {
    it("without a TTY prints only lines that changed", () => {
      let out = "";
      const w = new ProgressWriter({ write: (s: string) => (out += s) });
      w.frame(["overall progress: 0 out of 2 tasks", "1/2: ", "2/2: "]);
      w.frame(["overall progress: 0 out of 2 tasks", "1/2: new", "2/2: "]);
      w.frame(["overall progress: 0 out of 2 tasks", "1/2: new", "2/2: "]);
      assert.equal(out, "overall progress: 0 out of 2 tasks\n1/2: \n2/2: \n1/2: new\n");
    });

    it("on a TTY moves up over the last frame and clears each line it rewrites", () => {
      let out = "";
      const w = new ProgressWriter({ write: (s: string) => (out += s), isTTY: true, columns: 80 });
      w.frame(["a: 1", "b: 1"]);
      assert.equal(out, "\x1b[2K\ra: 1\n\x1b[2K\rb: 1\n");
      out = "";
      w.frame(["a: 2", "b: 2", "c: 2"]);
      assert.equal(out, "\x1b[2A\x1b[2K\ra: 2\n\x1b[2K\rb: 2\n\x1b[2K\rc: 2\n");
    });
  });
});
