export * from "./raft-node.js";
export * from "./state-machine.js";
export * from "./member-status.js";
export { planForceNewCluster, type ForceNewClusterPlan } from "./force-new-cluster.js";
