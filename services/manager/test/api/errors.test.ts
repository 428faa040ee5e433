import assert from "node:assert/strict";
import { ShoalError } from "@shoal/common";
import { notFound, versionConflict } from "@shoal/store";
import { ApiError, httpErrorOf } from "../../src/api/index.js";

function coded(code: string, message = code, temporary = false): ShoalError {
  return new ShoalError({ code }, message, { temporary });
}

describe("api errors: codes map to HTTP statuses in one place", () => {
  const cases: [string, ShoalError, number][] = [
    ["STORE_NOT_FOUND", notFound("node", "x"), 404],
    ["STORE_NAME_CONFLICT", coded("STORE_NAME_CONFLICT"), 409],
    ["STORE_VERSION_CONFLICT", versionConflict("node", "x", 3, 2), 409],
    ["STORE_INVALID", coded("STORE_INVALID"), 400],
    ["STORE_AMBIGUOUS", coded("STORE_AMBIGUOUS"), 400],
    ["CA_TOKEN_MALFORMED", coded("CA_TOKEN_MALFORMED"), 400],
    ["CA_DIGEST_MISMATCH", coded("CA_DIGEST_MISMATCH"), 400],
    ["CA_TOKEN_REJECTED", coded("CA_TOKEN_REJECTED"), 400],
    ["a *_INVALID code", coded("CONTROL_INVALID"), 400],
    ["MANAGER_QUORUM_GUARD", coded("MANAGER_QUORUM_GUARD"), 400],
    ["a NODE_* precondition", coded("NODE_NOT_DOWN"), 400],
    ["MANAGER_NO_QUORUM", coded("MANAGER_NO_QUORUM", "no quorum", true), 503],
    ["MANAGER_NOT_LEADER", coded("MANAGER_NOT_LEADER", "not leader", true), 503],
    ["another temporary error", coded("NODE_BUSY", "busy", true), 503],
    ["API_NOT_MANAGER", new ApiError({ code: "API_NOT_MANAGER" }, "not a manager"), 503],
    ["an unknown code", coded("RAFT_LOG_CORRUPT"), 500],
  ];
  for (const [name, err, status] of cases) {
    it(`answers ${status} for ${name}, keeping the message`, () => {
      const e = httpErrorOf(err);
      assert.equal(e.statusCode, status);
      assert.equal(e.message, err.message);
      assert.equal(e.unexpected, status === 500);
    });
  }

  it("says 'update out of sequence' for a version conflict", () => {
    assert.match(httpErrorOf(versionConflict("cluster", "c", 5, 4)).message, /update out of sequence/);
    assert.match(httpErrorOf(coded("STORE_VERSION_CONFLICT", "stale")).message, /^update out of sequence: stale$/);
  });

  it("answers 500 for a plain error and keeps its message", () => {
    assert.deepEqual(httpErrorOf(new Error("boom")), { statusCode: 500, message: "boom", unexpected: true });
  });
});
