export * from "./raft-node.js";
export * from "./state-machine.js";
