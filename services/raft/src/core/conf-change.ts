// Membership changes, one at a time: the wire encoding of a ConfChange (the data of an
// EntryType.ConfChange entry) and the rule that turns a ConfState plus a change into the next
// ConfState. Progress bookkeeping is raft.ts's business.
//
// Encoding (version 1), big-endian:
//   byte 0      version (1)
//   byte 1      type (ConfChangeType)
//   bytes 2..9  nodeId as a float64 (IDs are safe integers)
//   bytes 10..  context (opaque, possibly empty)

import { RaftError } from "./errors.js";
import { type ConfChange, type ConfState, ConfChangeType } from "./types.js";
import { cloneConfState } from "./util.js";

const VERSION = 1;
const HEADER_BYTES = 10;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const ctx = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER_BYTES + ctx.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, cc.type);
  view.setFloat64(2, cc.nodeId);
  out.set(ctx, HEADER_BYTES);
  return out;
}

export function decodeConfChange(b: Uint8Array): ConfChange {
  if (b.length < HEADER_BYTES) throw new RaftError("RAFT_INVALID_ARGUMENT", `conf change is ${b.length} bytes, shorter than its header`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = view.getUint8(0);
  if (version !== VERSION) throw new RaftError("RAFT_INVALID_ARGUMENT", `unknown conf change encoding version ${version}`, { version });
  const type = view.getUint8(1);
  if (type !== ConfChangeType.AddVoter && type !== ConfChangeType.AddLearner && type !== ConfChangeType.RemoveNode) {
    throw new RaftError("RAFT_INVALID_ARGUMENT", `unknown conf change type ${type}`, { type });
  }
  const nodeId = view.getFloat64(2);
  if (!Number.isSafeInteger(nodeId) || nodeId <= 0) throw new RaftError("RAFT_INVALID_ARGUMENT", `invalid conf change node id ${nodeId}`);
  const cc: ConfChange = { type, nodeId };
  if (b.length > HEADER_BYTES) cc.context = b.slice(HEADER_BYTES);
  return cc;
}

/**
 * The configuration after cc. A change naming a removed ID changes nothing (IDs are never
 * reused); AddVoter promotes a learner; AddLearner demotes a voter; RemoveNode records the ID.
 */
export function nextConfState(cs: ConfState, cc: ConfChange): ConfState {
  const next = cloneConfState(cs);
  const id = cc.nodeId;
  if (next.removed.includes(id)) return next;
  const without = (xs: number[]): number[] => xs.filter((x) => x !== id);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      next.learners = without(next.learners);
      if (!next.voters.includes(id)) next.voters.push(id);
      break;
    case ConfChangeType.AddLearner:
      next.voters = without(next.voters);
      if (!next.learners.includes(id)) next.learners.push(id);
      break;
    case ConfChangeType.RemoveNode:
      next.voters = without(next.voters);
      next.learners = without(next.learners);
      next.removed.push(id);
      break;
  }
  const asc = (a: number, b: number): number => a - b;
  next.voters.sort(asc);
  next.learners.sort(asc);
  next.removed.sort(asc);
  return next;
}
