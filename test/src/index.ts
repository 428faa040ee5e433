// @shoal/test: cross-package harnesses (Raft KV server, process clusters, gRPC KV client) used by
// the multi-process suites, the benchmark and the demo.
export { KvClient, KvCallError, type KvSystem, type MemberStatus, type CallOptions } from "./cluster/kv-client.js";
export { KvCluster, type ClusterOptions, type Member } from "./cluster/kv-cluster.js";
export { Child, killAllChildrenNow, exitOnSignals } from "./cluster/child.js";
export { KvStateMachine, encodePut, decodePut } from "./kv/kv-state-machine.js";
