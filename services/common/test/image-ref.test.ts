import { strict as assert } from "node:assert";
import { familiarImageReference, parseImageReference, type ImageReference } from "../src/index.js";

const D = "sha256:" + "ab".repeat(32);

function parsed(text: string): ImageReference {
  const r = parseImageReference(text);
  assert.ok(r.ok, `${text}: ${r.ok ? "" : r.reason}`);
  return r.ref;
}

function reason(text: string): string {
  const r = parseImageReference(text);
  assert.ok(!r.ok, `${text} parsed`);
  return r.reason;
}

describe("image references", () => {
  it("parses names, registries, tags and digests, Docker Hub's one-part names under library/", () => {
    assert.deepEqual(parsed("busybox"), { domain: "docker.io", path: "library/busybox" });
    assert.deepEqual(parsed("busybox:1.36"), { domain: "docker.io", path: "library/busybox", tag: "1.36" });
    assert.deepEqual(parsed("team/app"), { domain: "docker.io", path: "team/app" });
    assert.deepEqual(parsed("docker.io/busybox"), { domain: "docker.io", path: "library/busybox" });
    assert.deepEqual(parsed("registry.example:5000/team/app:1.2"), { domain: "registry.example:5000", path: "team/app", tag: "1.2" });
    assert.deepEqual(parsed("localhost/app"), { domain: "localhost", path: "app" });
    assert.deepEqual(parsed("[::1]:5000/app@" + D), { domain: "[::1]:5000", path: "app", digest: D });
    assert.deepEqual(parsed("busybox:latest@" + D), { domain: "docker.io", path: "library/busybox", tag: "latest", digest: D });
    assert.deepEqual(parsed("my_app-v2--x/sub__c.d"), { domain: "docker.io", path: "my_app-v2--x/sub__c.d" });
    // No slash: "localhost:5000" is the image "localhost" tagged 5000, as docker reads it.
    assert.deepEqual(parsed("localhost:5000"), { domain: "docker.io", path: "library/localhost", tag: "5000" });
  });

  it("refuses what registries would, saying why", () => {
    assert.equal(reason(""), "it is empty");
    assert.equal(reason("BusyBox"), "the repository name must be lowercase");
    assert.match(reason("busy box"), /"busy box" is not a valid repository name component/);
    assert.match(reason("app:-1"), /^tag "-1" may hold only/);
    assert.match(reason("app:" + "x".repeat(129)), /at most 128 characters/);
    assert.match(reason("app@sha256:abc"), /^digest "sha256:abc" is not algorithm:hex/);
    assert.match(reason("-app"), /"-app" is not a valid repository name component/);
    assert.match(reason("a//b"), /"" is not a valid repository name component/);
    assert.match(reason("reg.example:x/app"), /invalid port "x"/);
    assert.match(reason("bad_host.example/app"), /registry "bad_host.example" is not a valid host name/);
    assert.equal(reason(":1"), "it names no repository");
    assert.match(reason("ab".repeat(32)), /is an image ID/);
    assert.match(reason("a/".repeat(128) + "b"), /longer than 255/);
  });

  it("shows a reference as the docker CLI does: no Docker Hub prefix, :latest when untagged", () => {
    const f = (t: string): string => familiarImageReference(parsed(t));
    assert.equal(f("busybox"), "busybox:latest");
    assert.equal(f("docker.io/library/busybox:1.36"), "busybox:1.36");
    assert.equal(f("team/app"), "team/app:latest");
    assert.equal(f("registry.example:5000/team/app"), "registry.example:5000/team/app:latest");
    assert.equal(f("busybox@" + D), `busybox@${D}`);
    assert.equal(f("docker.io/library/x/y"), "library/x/y:latest");
  });
});
