// @shoal/store: the object model and the replicated, watchable object store (DESIGN §2, §1).
export * from "./objects/index.js";
export * from "./errors.js";
export * from "./actions.js";
export type { Selector } from "./selectors.js";
export * from "./snapshot.js";
export * from "./codec.js";
export * from "./watch.js";
export { copyObject } from "./freeze.js";
export { generateId, ID_LENGTH } from "./ids.js";
export type { ReadTx, WriteTx } from "./tx.js";
export { MemoryStore, type MemoryStoreOpts, type MemoryStoreModules, type WriteOptions, type UpdateOptions, type WriteStats, type Batch, type ApplyResult } from "./memory-store.js";
