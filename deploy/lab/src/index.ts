export * from "./errors.js";
export * from "./lab.js";
export * from "./record.js";
export { Ip } from "./sys/ip.js";
export { HostProcesses } from "./sys/host-process.js";
export { run, type RunOpts, type RunResult } from "./sys/run.js";
export * from "./swarm.js";
export * from "./api-client.js";
export { leaks, NO_LEAKS, randomLabId, type Leaks } from "./leaks.js";
