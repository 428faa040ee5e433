import assert from "node:assert/strict";
import { CLIENT_VERSION } from "../../src/index.js";
import { FakeApi, shoal } from "../support/fake-api.js";
import { V } from "../support/fixtures.js";

const SERVER = { Version: "0.1.0", ApiVersion: "1.50", MinAPIVersion: "1.24", Os: "linux", Arch: "amd64", KernelVersion: "6.18.0", Components: [{ Name: "Shoal", Version: "0.1.0" }] };

describe("shoal version", () => {
  let api: FakeApi;

  beforeEach(async () => {
    api = await FakeApi.start();
  });

  afterEach(async () => {
    await api.close();
  });

  it("prints the client's version and API version, then the server's from /version", async () => {
    api.on("GET", `${V}/version`, { body: SERVER });
    const r = await shoal(api, ["version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(CLIENT_VERSION, /^\d+\.\d+\.\d+/);
    assert.equal(
      r.stdout,
      [
        "Client:",
        ` Version:      ${CLIENT_VERSION}`,
        " API version:  1.50",
        ` Node.js:      ${process.version}`,
        ` OS/Arch:      ${process.platform}/${process.arch}`,
        "",
        "Server Shoal:",
        " Version:      0.1.0",
        " API version:  1.50 (minimum version 1.24)",
        " Kernel:       6.18.0",
        " OS/Arch:      linux/amd64",
        "",
      ].join("\n"),
    );
  });

  it("still prints the client half when the server cannot be reached", async () => {
    const r = await shoal(undefined, ["version"], { env: { SHOAL_HOST: `unix://${api.dir}/missing.sock` } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^Client:\n Version: /);
    assert.equal(r.stderr.split("\n").length, 2);
  });

  it("--format json prints Client and Server objects", async () => {
    api.on("GET", `${V}/version`, { body: SERVER });
    const r = await shoal(api, ["version", "--format", "json"]);
    const v = JSON.parse(r.stdout) as { Client: { Version: string; ApiVersion: string }; Server: unknown };
    assert.equal(v.Client.ApiVersion, "1.50");
    assert.deepEqual(v.Server, SERVER);
  });
});
