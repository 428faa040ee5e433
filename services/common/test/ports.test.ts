import { strict as assert } from "node:assert";
import { createServer } from "node:net";
import { SeededRandom, freeLoopbackPort, freeLoopbackPorts } from "../src/index.js";

describe("freeLoopbackPorts", () => {
  it("gives distinct ports below the ephemeral range that can be bound on 127.0.0.1", async () => {
    const ports = await freeLoopbackPorts(8);
    assert.equal(new Set(ports).size, 8);
    for (const p of ports) {
      assert.ok(p >= 20000 && p < 32000, `port ${p}`);
      await new Promise<void>((resolve, reject) => {
        const srv = createServer();
        srv.once("error", reject);
        srv.listen(p, "127.0.0.1", () => srv.close(() => resolve()));
      });
    }
  });

  it("skips the ports it is told to exclude (handed out already, not bound yet)", async () => {
    const first = await freeLoopbackPort(() => new SeededRandom(5).next());
    // Same random sequence: without the exclusion the same port would come back.
    const [second] = await freeLoopbackPorts(1, ((seq) => () => seq.next())(new SeededRandom(5)), [first]);
    assert.notEqual(second, first);
  });

  it("skips a port that is already in use", async () => {
    const seq = new SeededRandom(3);
    const first = await freeLoopbackPort(() => seq.next());
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(first, "127.0.0.1", () => resolve()));
    try {
      const again = new SeededRandom(3);
      // Same random sequence: the first candidate is the busy port, so another one comes back.
      const second = await freeLoopbackPort(() => again.next());
      assert.notEqual(second, first);
    } finally {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });
});
