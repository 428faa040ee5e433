// @shoal/agent: the node's side of the cluster (DESIGN §5): its session with the managers
// (registration and heartbeats), the worker that runs assigned tasks through an executor, and the
// client that carries assignments and status reports.
export * from "./session.js";
export * from "./executor/index.js";
export * from "./worker/index.js";
