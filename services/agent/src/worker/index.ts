// The worker side of task assignments: the Worker (reconciles assignments with the executor and
// reports status) and the AssignmentsClient (its RPCs with the leader).
export * from "./worker.js";
export * from "./assignments-client.js";
