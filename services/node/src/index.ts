// @shoal/node: shoald, the node daemon (DESIGN §1): identity and state dir, the agent session, and
// the manager on manager nodes, behind the REST API.
export * from "./daemon.js";
export * from "./state-dir.js";
export * from "./describe.js";
export * from "./state-lock.js";
