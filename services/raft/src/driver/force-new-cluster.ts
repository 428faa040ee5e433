// forceNewCluster: the way out of a lost quorum. A lone surviving member rewrites its own log so
// that it is a one-member cluster, keeping every entry it knows committed.
//
// Owns: the rewrite plan, computed from the loaded log alone (pure; the driver saves it in one
// atomic batch before the core is created). Like etcd's restart-as-standalone, it does not edit the
// snapshot or invent state: it drops the tail this member never learned was committed (it may hold
// writes no quorum accepted, and conf changes naming the old members), then appends ordinary conf
// change entries — AddVoter(self), RemoveNode(every other member) — and commits them by fiat. They
// are applied through the normal path, so the configuration, the retired IDs (ConfState.removed,
// carried into every later snapshot) and members.json follow as for any membership change, and a
// restart without the flag replays the same log. It must not be used while other members live:
// they would still form the old cluster (split brain); the operator's flag says they will not.
import { decodeConfChange, encodeConfChange, nextConfState } from "../core/conf-change.js";
import { RaftError } from "../core/errors.js";
import { ConfChangeType, EntryType, type ConfState, type Entry, type HardState, type NodeId } from "../core/types.js";
import type { LoadedLog } from "../storage/level-storage.js";

export interface ForceNewClusterPlan {
  /** Entries to save from `commit + 1` on: they replace (and delete) the stored uncommitted tail. */
  entries: Entry[];
  hardState: HardState;
  /** The configuration once the appended entries are applied: voters [self], no learners. */
  confState: ConfState;
  /** The members this rewrite removes (their IDs are retired). */
  removed: NodeId[];
  /** Stored entries after the commit index that are dropped. */
  droppedEntries: number;
}

/** The rewrite that makes `self` (reachable at `address`) the only member; throws when it cannot. */
export function planForceNewCluster(loaded: LoadedLog, self: NodeId, address: string): ForceNewClusterPlan {
  const snap = loaded.snapshot;
  const snapIndex = snap?.metadata.index ?? 0;
  const snapTerm = snap?.metadata.term ?? 0;
  // A local snapshot is only ever taken of applied (so committed) entries, even if the commit index
  // written with it lagged.
  const commit = Math.max(loaded.hardState.commit, snapIndex);
  const kept = loaded.entries.filter((e) => e.index <= commit);
  let cs: ConfState = snap?.metadata.confState ?? { voters: [], learners: [], removed: [] };
  for (const e of kept) if (e.type === EntryType.ConfChange) cs = nextConfState(cs, decodeConfChange(e.data));

  if (cs.removed.includes(self)) {
    throw new RaftError("RAFT_MEMBER_REMOVED", `member ${self} was removed from its cluster and cannot force a new one`, { id: self });
  }
  if (!cs.voters.includes(self) && !cs.learners.includes(self)) {
    throw new RaftError(
      "RAFT_INVALID_ARGUMENT",
      `member ${self} holds no committed configuration that includes it (a join that never completed): nothing to recover`,
      { id: self, voters: cs.voters, learners: cs.learners },
    );
  }

  const term = kept.length > 0 ? kept[kept.length - 1]!.term : snapTerm;
  // Self first, so that removing the others never leaves the configuration without a voter; it
  // is appended even when self already votes, as the record (with its address) of the recovery.
  const changes = [{ type: ConfChangeType.AddVoter, nodeId: self, context: new TextEncoder().encode(address) }];
  const others = [...cs.voters, ...cs.learners].filter((id) => id !== self).sort((a, b) => a - b);
  for (const id of others) changes.push({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
  const entries: Entry[] = changes.map((cc, i) => ({ index: commit + 1 + i, term, type: EntryType.ConfChange, data: encodeConfChange(cc) }));
  let after = cs;
  for (const cc of changes) after = nextConfState(after, cc);

  const storedLast = loaded.entries.length > 0 ? loaded.entries[loaded.entries.length - 1]!.index : snapIndex;
  return {
    entries,
    // Term and vote stay: raising the term would gain nothing (the old members are ignored as
    // removed), and keeping the vote keeps us from voting twice in this term.
    hardState: { term: Math.max(loaded.hardState.term, term), vote: loaded.hardState.vote, commit: entries[entries.length - 1]!.index },
    confState: after,
    removed: others,
    droppedEntries: Math.max(0, storedLast - commit),
  };
}
