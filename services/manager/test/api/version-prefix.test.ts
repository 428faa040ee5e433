import assert from "node:assert/strict";
import { stripVersionPrefix, unsupportedVersionMessage } from "../../src/api/version-prefix.js";

describe("api version prefix", () => {
  it("strips a supported /vX.Y prefix, keeping the path and query", () => {
    assert.equal(stripVersionPrefix("/v1.50/nodes?filters=x"), "/nodes?filters=x");
    assert.equal(stripVersionPrefix("/v1.24/_ping"), "/_ping");
    assert.equal(stripVersionPrefix("/v1.41/nodes/abc/update?version=3"), "/nodes/abc/update?version=3");
    assert.equal(stripVersionPrefix("/v1.44"), "/");
    assert.equal(stripVersionPrefix("/v1.44?x=1"), "/?x=1");
  });

  it("leaves unprefixed paths, unsupported versions and look-alikes untouched", () => {
    assert.equal(stripVersionPrefix("/nodes"), "/nodes");
    assert.equal(stripVersionPrefix("/v1.51/nodes"), "/v1.51/nodes");
    assert.equal(stripVersionPrefix("/v1.23/nodes"), "/v1.23/nodes");
    assert.equal(stripVersionPrefix("/v2.0/nodes"), "/v2.0/nodes");
    assert.equal(stripVersionPrefix("/v1.50nodes"), "/v1.50nodes");
  });

  it("explains an unsupported version in Docker's words and says nothing for a supported one", () => {
    assert.equal(unsupportedVersionMessage("/v1.51/info"), "client version 1.51 is too new. Maximum supported API version is 1.50");
    assert.equal(unsupportedVersionMessage("/v1.12/info"), "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version");
    assert.equal(unsupportedVersionMessage("/v1.50/info"), undefined);
    assert.equal(unsupportedVersionMessage("/info"), undefined);
  });
});
