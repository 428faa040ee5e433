// The flags Node runs shoald with. shoald's launcher (services/node/bin/shoald.js) carries them in
// its `#!/usr/bin/env -S node …` line, so `shoald …` gets them; whatever starts shoald as
// `node <launcher>` instead (the lab, the benchmarks) passes these first. A test keeps the two
// the same.

/**
 * A young-generation semi-space of 32 MiB instead of V8's 16. A leading manager's short-lived
 * objects (staged transactions, raft entries and assignment messages waiting for a commit of
 * about 100 ms) outlive a 16 MiB semi-space's scavenges and are copied, some twice: at 100,000
 * tasks the leader's main thread spent about 9 % of the task phase in scavenges with the default
 * and 7.5 % with this, and the managers' CPU per task fell by about 5 % against the nodes' (see
 * docs/OPERATIONS.md, "Sizing managers"). It costs up to 32 MiB more memory per process.
 */
export const SHOALD_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=32"];
