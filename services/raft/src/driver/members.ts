// Member addresses the driver must remember across restarts: members.json in the data directory,
// and an envelope around the state machine's snapshot data so that a member restored from a
// snapshot (the log holding the ConfChange contexts is compacted) learns them too.
//
// Owns: these two encodings and the atomic write. Addresses change only on membership changes and
// snapshots, never per entry, so JSON is fine here.
import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { copyPartsInSlices, nextTurn } from "@shoal/common";
import { RaftError } from "../core/errors.js";
import type { NodeId } from "../core/types.js";
import type { SnapshotData } from "./state-machine.js";

const MEMBERS_FILE = "members.json";
const FORMAT = 1;

export type Addresses = Map<NodeId, string>;

export async function readMembers(dataDir: string): Promise<Addresses | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, MEMBERS_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const doc = JSON.parse(text) as { format: number; addresses: Record<string, string> };
    if (doc.format !== FORMAT) throw new Error(`unknown format ${doc.format}`);
    return fromRecord(doc.addresses);
  } catch (err) {
    throw new RaftError("RAFT_LOG_CORRUPT", `${MEMBERS_FILE} in ${dataDir}: ${(err as Error).message}`, { file: MEMBERS_FILE });
  }
}

/** Write to a temp file, fsync, rename: a crash leaves the old file or the new one, never half. */
export async function writeMembers(dataDir: string, addresses: Addresses): Promise<void> {
  const path = join(dataDir, MEMBERS_FILE);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(JSON.stringify({ format: FORMAT, addresses: toRecord(addresses) }));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export function toRecord(addresses: Addresses): Record<NodeId, string> {
  const out: Record<NodeId, string> = {};
  for (const [id, addr] of [...addresses].sort((a, b) => a[0] - b[0])) out[id] = addr;
  return out;
}

function fromRecord(rec: Record<string, string>): Addresses {
  const m: Addresses = new Map();
  for (const [k, v] of Object.entries(rec)) {
    const id = Number(k);
    if (!Number.isSafeInteger(id) || id <= 0 || typeof v !== "string") throw new Error(`bad member entry ${k}`);
    m.set(id, v);
  }
  return m;
}

// Snapshot envelope: "SHRS" | u32 BE length of the addresses JSON | JSON | state machine data.
const MAGIC = Buffer.from("SHRS", "latin1");

/** The state machine's data (or its parts, joined here) in an envelope with the member addresses. */
export async function wrapSnapshotData(addresses: Addresses, data: SnapshotData, pause: () => Promise<void> = nextTurn): Promise<Uint8Array> {
  const parts: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data;
  const json = Buffer.from(JSON.stringify(toRecord(addresses)), "utf8");
  const out = Buffer.allocUnsafe(8 + json.length + parts.reduce((n, p) => n + p.length, 0));
  MAGIC.copy(out, 0);
  out.writeUInt32BE(json.length, 4);
  json.copy(out, 8);
  // A slice per turn: the data is the whole state machine (a 100 MiB copy held the loop for seconds).
  await copyPartsInSlices(out, 8 + json.length, parts, pause);
  return out;
}

/** Undoes wrapSnapshotData; data without the envelope (e.g. the index-0 bootstrap snapshot) is passed through. */
export function unwrapSnapshotData(wrapped: Uint8Array): { addresses: Addresses | undefined; data: Uint8Array } {
  const b = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (b.length < 8 || !b.subarray(0, 4).equals(MAGIC)) return { addresses: undefined, data: wrapped };
  const len = b.readUInt32BE(4);
  if (8 + len > b.length) throw new RaftError("RAFT_LOG_CORRUPT", "snapshot envelope: addresses run past the data", { len });
  const addresses = fromRecord(JSON.parse(b.subarray(8, 8 + len).toString("utf8")) as Record<string, string>);
  return { addresses, data: b.subarray(8 + len) };
}
