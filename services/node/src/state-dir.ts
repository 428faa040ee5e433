// The node's state dir: its identity (node.json), certificates and keys, and the raft data of a
// manager (raft/). Every file is written atomically (temp file, fsync, rename, fsync of the dir)
// so a crash leaves the old or the new version, never half of one. Keys are stored wrapped when
// the swarm is autolocked: then node.key and the raft data key can only be read with the unlock
// key, and the node starts locked. It must not interpret the cluster (the daemon does).
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { workerDbDir } from "@shoal/agent";
import { ShoalError } from "@shoal/common";

export interface NodeIdentity {
  nodeId: string;
  clusterId: string;
  /** The role of the node's certificate. */
  role: "manager" | "worker";
  /** host:port the gRPC server binds (managers). */
  listenAddr: string;
  /** host:port others dial (managers); the IP part is the node's address (all nodes). */
  advertiseAddr: string;
  /** Raft member id (managers; 0 for workers). */
  raftId: number;
  /** Known managers' gRPC addresses, refreshed from heartbeats. */
  managers: string[];
}

export interface StoredKeys {
  /** The raft data key, base64 (plain) or wrapped with the unlock key. */
  dataKey: string;
  /** node.key PEM, plain or wrapped. */
  nodeKey: string;
  wrapped: boolean;
}

export class NodeStateError extends ShoalError<{ code: "NODE_STATE_CORRUPT"; file: string }> {}

async function writeAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export class StateDir {
  constructor(readonly root: string) {}

  get raftDir(): string {
    return join(this.root, "raft");
  }

  private get identityFile(): string {
    return join(this.root, "node.json");
  }

  private get keysFile(): string {
    return join(this.root, "certificates", "keys.json");
  }

  private cert(name: "root.crt" | "node.crt"): string {
    return join(this.root, "certificates", name);
  }

  async ensure(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
  }

  async hasIdentity(): Promise<boolean> {
    return exists(this.identityFile);
  }

  async loadIdentity(): Promise<NodeIdentity> {
    return this.readJson<NodeIdentity>(this.identityFile);
  }

  async saveIdentity(id: NodeIdentity): Promise<void> {
    await writeAtomic(this.identityFile, JSON.stringify(id, null, 2) + "\n");
  }

  async loadCerts(): Promise<{ rootCertPem: string; certPem: string }> {
    return { rootCertPem: await readFile(this.cert("root.crt"), "utf8"), certPem: await readFile(this.cert("node.crt"), "utf8") };
  }

  async saveCerts(c: { rootCertPem: string; certPem: string }): Promise<void> {
    await writeAtomic(this.cert("root.crt"), c.rootCertPem, 0o644);
    await writeAtomic(this.cert("node.crt"), c.certPem, 0o644);
  }

  async loadKeys(): Promise<StoredKeys> {
    return this.readJson<StoredKeys>(this.keysFile);
  }

  async saveKeys(k: StoredKeys): Promise<void> {
    await writeAtomic(this.keysFile, JSON.stringify(k) + "\n");
  }

  /** Forgets the swarm: identity, certificates, keys, raft data and the worker's tasks (leave / removal). */
  async wipe(): Promise<void> {
    await rm(this.identityFile, { force: true });
    await rm(join(this.root, "certificates"), { recursive: true, force: true });
    await rm(this.raftDir, { recursive: true, force: true });
    await rm(workerDbDir(this.root), { recursive: true, force: true });
  }

  async wipeRaft(): Promise<void> {
    await rm(this.raftDir, { recursive: true, force: true });
  }

  private async readJson<T>(file: string): Promise<T> {
    const text = await readFile(file, "utf8");
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new NodeStateError({ code: "NODE_STATE_CORRUPT", file }, `${file} is not valid JSON; the node's state is damaged`, { cause: err });
    }
  }
}
