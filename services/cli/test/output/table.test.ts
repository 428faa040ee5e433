import assert from "node:assert/strict";
import { capitalize, renderFields, renderTable, shortId, truncate } from "../../src/index.js";

describe("tables", () => {
  it("pads every column but the last to its widest cell + 3, at least 10, like docker", () => {
    const lines = renderTable(
      ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"],
      [
        ["selfnode0000000000000000a *", "mgr1", "Ready", "Active", "Leader", "28.2.2"],
        ["worker100000000000000000b", "wrk1", "Ready", "Active", "", "28.2.2"],
      ],
    );
    // docker node ls output from the reference traces.
    assert.deepEqual(lines, [
      "ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION",
      "selfnode0000000000000000a *   mgr1       Ready     Active         Leader           28.2.2",
      "worker100000000000000000b     wrk1       Ready     Active                          28.2.2",
    ]);
  });

  it("trims trailing spaces and truncates columns with a maximum width", () => {
    const lines = renderTable([{ header: "ID" }, { header: "ERROR", maxWidth: 8 }], [["a", "a long error message"], ["b", ""]]);
    assert.deepEqual(lines, ["ID        ERROR", "a         a long …", "b"]);
  });

  it("shortens IDs to 12 characters unless asked not to, and cuts text with an ellipsis", () => {
    assert.equal(shortId("0816018662f7588843a7a38d5"), "0816018662f7");
    assert.equal(shortId("0816018662f7588843a7a38d5", true), "0816018662f7588843a7a38d5");
    assert.equal(truncate("abcdef", 4), "abc…");
    assert.equal(truncate("abc", 4), "abc");
    assert.equal(capitalize("ready"), "Ready");
  });

  it("aligns field blocks per level and leaves out empty entries", () => {
    assert.deepEqual(
      renderFields([
        ["ID", "x"],
        ["Long label", 3],
        ["Skipped", undefined],
        ["Nested", [["A", "1"], ["Bee", "2"]]],
      ]),
      ["ID:          x", "Long label:  3", "Nested:", " A:    1", " Bee:  2"],
    );
  });
});
