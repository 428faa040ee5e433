import { strict as assert } from "node:assert";
import { historyFromEvents, HistoryRecorder, LincheckError, checkOperations, kvModel, type HistoryEvent, type KvInput, type KvOutput } from "../src/index.js";
import { put } from "./support/ops.js";

type Ev = HistoryEvent<KvInput, KvOutput>;

describe("historyFromEvents", () => {
  it("pairs calls and returns by id, in call order", () => {
    const events: Ev[] = [
      { kind: "call", id: "b", clientId: 2, time: 3, input: { op: "get", key: "x" } },
      { kind: "call", id: "a", clientId: 1, time: 1, input: { op: "put", key: "x", value: "v" } },
      { kind: "return", id: "a", time: 4, output: {} },
      { kind: "return", id: "b", time: 5, output: { value: "v" } },
    ];
    assert.deepEqual(historyFromEvents(events), [
      { clientId: 1, input: { op: "put", key: "x", value: "v" }, call: 1, output: {}, return: 4 },
      { clientId: 2, input: { op: "get", key: "x" }, call: 3, output: { value: "v" }, return: 5 },
    ]);
  });

  it("turns a call without a return into an unknown outcome", () => {
    const ops = historyFromEvents<KvInput, KvOutput>([{ kind: "call", id: 1, clientId: 0, time: 0, input: { op: "put", key: "x", value: "v" } }]);
    assert.equal(ops[0]!.return, undefined);
    assert.equal(ops[0]!.output, undefined);
  });

  it("rejects malformed event logs", () => {
    const call: Ev = { kind: "call", id: 1, clientId: 0, time: 5, input: { op: "get", key: "x" } };
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        assert.ok(err instanceof LincheckError);
        return err.code;
      }
      return "no error";
    };
    assert.equal(code(() => historyFromEvents([call, call])), "LINCHECK_INVALID_HISTORY");
    assert.equal(code(() => historyFromEvents([{ kind: "return", id: 9, time: 1, output: {} }])), "LINCHECK_INVALID_HISTORY");
    assert.equal(code(() => historyFromEvents([call, { kind: "return", id: 1, time: 4, output: {} }])), "LINCHECK_INVALID_HISTORY");
    assert.equal(
      code(() => historyFromEvents([call, { kind: "return", id: 1, time: 6, output: {} }, { kind: "return", id: 1, time: 7, output: {} }])),
      "LINCHECK_INVALID_HISTORY",
    );
  });
});

describe("HistoryRecorder", () => {
  it("records finished operations and leaves unfinished ones unknown", () => {
    const r = new HistoryRecorder<KvInput, KvOutput>();
    const a = r.call(0, { op: "put", key: "x", value: "v" }, 0);
    const b = r.call(1, { op: "put", key: "x", value: "w" }, 1);
    r.finish(a, {}, 2);
    const ops = r.operations();
    assert.equal(ops[a]!.return, 2);
    assert.equal(ops[b]!.return, undefined);
    assert.throws(() => r.finish(a, {}, 3), LincheckError);
    assert.throws(() => r.finish(b, {}, 0), LincheckError);
  });
});

describe("checkOperations input validation", () => {
  it("throws on an operation that returns before it is called", () => {
    assert.throws(() => checkOperations(kvModel, [put(0, "x", "v", 5, 4)]), LincheckError);
  });

  it("throws on an infinite return time, which is reserved for unknown outcomes", () => {
    assert.throws(() => checkOperations(kvModel, [put(0, "x", "v", 5, Infinity)]), LincheckError);
  });
});
