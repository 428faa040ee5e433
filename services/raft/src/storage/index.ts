// Durable Raft storage: the level-backed log and its optional encryption at rest.
export { LevelStorage, type LevelStorageOptions, type LoadedLog, type SaveRequest } from "./level-storage.js";
export { createAesGcmCodec } from "./aes-gcm-codec.js";
export { FORMAT_VERSION, type StorageCodec } from "./record-format.js";
