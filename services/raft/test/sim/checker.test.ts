// Self-tests of the simulator's checker: each property must actually fire. First the SafetyChecker
// alone on hand-made observations, then whole simulations with a deliberately broken member,
// network or disk, which must be caught and reported with the seed and a replay command.
import assert from "node:assert/strict";
import { type Entry, EntryType, MessageType, makeTestEntry } from "./test-entries.js";
import { InvariantViolation, type LogView, SafetyChecker, checkLogsPairwise } from "./invariants.js";
import { type SimFaults, Simulation, SimulationFailure } from "./simulator.js";

function logOf(terms: number[], snapshotIndex = 0): LogView {
  // terms[i] is the term at index i (terms[0] is the snapshot's).
  return { snapshotIndex, lastIndex: terms.length - 1, term: (i) => (i < snapshotIndex || i >= terms.length ? undefined : terms[i]) };
}

function throwsInvariant(fn: () => void, invariant: string): void {
  assert.throws(fn, (err: unknown) => err instanceof InvariantViolation && err.invariant === invariant);
}

describe("simulator checker: SafetyChecker on hand-made observations", () => {
  it("flags two leaders in one term as an election safety violation", () => {
    const c = new SafetyChecker();
    c.observeLeader(1, 3, logOf([0]));
    c.observeLeader(1, 3, logOf([0]));
    throwsInvariant(() => c.observeLeader(2, 3, logOf([0])), "election safety");
  });

  it("flags the same index and term with different payloads as a log matching violation", () => {
    const c = new SafetyChecker();
    c.observeEntries(1, [makeTestEntry(1, 1, "x")], 0);
    c.observeEntries(2, [makeTestEntry(1, 1, "x")], 0);
    throwsInvariant(() => c.observeEntries(3, [makeTestEntry(1, 1, "y")], 0), "log matching");
  });

  it("flags the same index and term after different predecessors as a log matching violation", () => {
    const c = new SafetyChecker();
    c.observeEntries(1, [makeTestEntry(5, 3, "x")], 2);
    throwsInvariant(() => c.observeEntries(2, [makeTestEntry(5, 3, "x")], 1), "log matching");
  });

  it("flags a leader that lacks a committed entry as a leader completeness violation", () => {
    const c = new SafetyChecker();
    c.observeCommit(1, 2, logOf([0, 1, 1]));
    c.observeLeader(1, 2, logOf([0, 1, 1, 2]));
    throwsInvariant(() => c.observeLeader(2, 3, logOf([0, 1])), "leader completeness");
  });

  it("flags members applying different entries at one index as a state-machine safety violation", () => {
    const c = new SafetyChecker();
    c.observeCommit(1, 1, logOf([0, 1]));
    c.observeApply(1, makeTestEntry(1, 1, "x"), "h1");
    throwsInvariant(() => c.observeApply(2, makeTestEntry(1, 1, "x"), "h2"), "state-machine safety");
    throwsInvariant(() => c.observeApply(2, makeTestEntry(2, 1, "x"), "h3"), "state-machine safety");
  });

  it("flags a commit index going back within one life, and applied beyond commit", () => {
    const c = new SafetyChecker();
    c.observeStatus(1, { term: 1, commit: 4, applied: 2, isLeader: false }, logOf([0]));
    throwsInvariant(() => c.observeStatus(1, { term: 1, commit: 3, applied: 2, isLeader: false }, logOf([0])), "commit monotonicity");
    throwsInvariant(() => c.observeStatus(1, { term: 1, commit: 4, applied: 5, isLeader: false }, logOf([0])), "applied <= committed");
  });

  it("flags a Ready with new entries or a new vote that does not ask for a sync", () => {
    const c = new SafetyChecker();
    throwsInvariant(() => c.observeReady(1, { entries: [makeTestEntry(1, 1, "x")], mustSync: false }), "durability (mustSync)");
    throwsInvariant(() => c.observeReady(2, { entries: [], hardState: { term: 2, vote: 2, commit: 0 }, mustSync: false }), "durability (mustSync)");
    c.observeReady(3, { entries: [], hardState: { term: 2, vote: 2, commit: 0 }, mustSync: true });
    c.observeReady(3, { entries: [], hardState: { term: 2, vote: 2, commit: 1 }, mustSync: false });
  });

  it("flags a restart that forgot a granted vote", () => {
    const c = new SafetyChecker();
    const grant = { type: MessageType.VoteResp, to: 2, from: 1, term: 4, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
    c.observeSent(1, grant);
    throwsInvariant(() => c.observeRestart(1, { term: 4, vote: 3, commit: 0 }), "durability (mustSync)");
    throwsInvariant(() => c.observeRestart(1, { term: 3, vote: 0, commit: 0 }), "durability (mustSync)");
  });

  it("flags two members holding different configurations after the same index", () => {
    const c = new SafetyChecker();
    c.observeConfState(1, 7, "A");
    c.observeConfState(2, 7, "A");
    throwsInvariant(() => c.observeConfState(3, 7, "B"), "configuration agreement");
  });

  it("checks complete logs pairwise", () => {
    const a: Entry[] = [makeTestEntry(1, 1, "x"), makeTestEntry(2, 2, "y")];
    const b: Entry[] = [makeTestEntry(1, 1, "z"), makeTestEntry(2, 2, "y")];
    checkLogsPairwise(new Map([[1, { first: 1, entries: a }], [2, { first: 2, entries: a.slice(1) }]]));
    assert.throws(() => checkLogsPairwise(new Map([[1, { first: 1, entries: a }], [2, { first: 1, entries: b }]])), /log matching/);
  });
});

const enc = new TextEncoder();

/**
 * Runs seeds until the fault is caught; returns that failure (or undefined if none was). A seed
 * that fails the same way without the fault shows a core bug, not the fault, and is skipped.
 */
function firstFailure(faults: SimFaults, maxSeeds: number): { seed: number; err: SimulationFailure } | undefined {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    try {
      new Simulation({ seed, faults }).run();
    } catch (err) {
      assert.ok(err instanceof SimulationFailure, `seed ${seed} threw ${String(err)}`);
      // Liveness is not what these faults attack; a stuck cluster says nothing about the checker.
      if (err.invariant === "convergence" || failsAnyway(seed, err.invariant)) continue;
      return { seed, err };
    }
  }
  return undefined;
}

function failsAnyway(seed: number, invariant: string): boolean {
  try {
    new Simulation({ seed }).run();
    return false;
  } catch (err) {
    return err instanceof SimulationFailure && err.invariant === invariant;
  }
}

function assertReported(found: { seed: number; err: SimulationFailure } | undefined, invariants: string[]): void {
  assert.ok(found !== undefined, "the fault went unnoticed");
  const { seed, err } = found;
  assert.ok(invariants.includes(err.invariant), `expected one of ${invariants.join(", ")}, got ${err.invariant}: ${err.message.split("\n")[0]}`);
  assert.match(err.message, new RegExp(`seed ${seed}, step \\d+`));
  assert.ok(err.message.includes(`SHOAL_SIM_SEED=${seed} npx mocha services/raft/dist/test/sim/simulator.test.js`));
}

describe("simulator checker: injected faults are caught", function () {
  this.timeout(120_000);

  it("catches a member whose state machine applies a forged entry (state-machine safety)", () => {
    const faults: SimFaults = {
      tamperApply: (id, e) => (id === 2 && e.type === EntryType.Normal && e.data.length > 0 ? { ...e, data: enc.encode("0\u0000a\u0000forged") } : e),
    };
    assertReported(firstFailure(faults, 5), ["state-machine safety"]);
  });

  it("catches a leader that commits early on falsified acknowledgements (leader completeness)", () => {
    // A follower claims three more entries than it has: the leader counts it toward a quorum
    // it does not have, and a later leader lacks what was "committed".
    const faults: SimFaults = {
      tamperMessage: (m) => (m.type === MessageType.AppResp && !m.reject ? { ...m, index: m.index + 3 } : m),
    };
    assertReported(firstFailure(faults, 30), ["leader completeness", "state-machine safety", "linearizability"]);
  });

  it("catches forged vote grants electing two leaders in one term (election safety)", () => {
    const faults: SimFaults = {
      tamperMessage: (m) => ((m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp) && m.reject ? { ...m, reject: false } : m),
    };
    assertReported(firstFailure(faults, 20), ["election safety", "leader completeness"]);
  });

  it("catches a disk that never syncs: a restarted member forgets its term or vote", () => {
    assertReported(firstFailure({ neverSync: true }, 10), ["durability (mustSync)", "election safety"]);
  });

  it("catches reads served from local state without ReadIndex (linearizability)", () => {
    assertReported(firstFailure({ staleReads: true }, 100), ["linearizability"]);
  });
});
