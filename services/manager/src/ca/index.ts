// Cluster identity (DESIGN §4): root CA, node certificates, join tokens, mutual TLS for gRPC,
// per-call authorization, and key wrapping for autolock.
export * from "./errors.js";
export * from "./root-ca.js";
export * from "./node-key.js";
export * from "./authority.js";
export * from "./certificate.js";
export * from "./join-token.js";
export * from "./tls-credentials.js";
export * from "./peer-identity.js";
export * from "./key-wrap.js";
