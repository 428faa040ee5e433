// @shoal/agent: the node's side of the cluster (DESIGN §5). For now its session with the managers
// (registration and heartbeats); the worker, executor interface and task reconciliation join it
// with the orchestration work.
export * from "./session.js";
