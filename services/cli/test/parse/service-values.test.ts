import assert from "node:assert/strict";
import { cpuArg, fileRefArg, mountArg, parsePublish, ratioArg, sizeArg } from "../../src/index.js";

describe("service flag values", () => {
  it("reads sizes in docker's binary units, with or without i/b, and refuses anything else", () => {
    assert.equal(sizeArg("64MiB"), 64 * 1024 ** 2);
    assert.equal(sizeArg("64m"), 64 * 1024 ** 2);
    assert.equal(sizeArg("1g"), 1024 ** 3);
    assert.equal(sizeArg("1.5k"), 1536);
    assert.equal(sizeArg("1p"), 1024 ** 5);
    assert.equal(sizeArg("4096"), 4096);
    for (const bad of ["", "12zz", "-1m", "m"]) assert.throws(() => sizeArg(bad), /expected a size/);
  });

  it("reads CPUs as decimals into NanoCPUs", () => {
    assert.equal(cpuArg("0.5"), 5e8);
    assert.equal(cpuArg("2"), 2e9);
    assert.throws(() => cpuArg("half"), /number of CPUs/);
    assert.throws(() => ratioArg("1.5"), /from 0 to 1/);
  });

  it("reads short and long --publish forms", () => {
    assert.deepEqual(parsePublish("8080:80/udp"), { Protocol: "udp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" });
    assert.deepEqual(parsePublish("80"), { Protocol: "tcp", TargetPort: 80, PublishMode: "ingress" });
    assert.deepEqual(parsePublish("mode=host,target=80,published=8080,protocol=tcp"), { Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "host" });
    assert.throws(() => parsePublish("70000:80"), /published must be a port/);
    assert.throws(() => parsePublish("mode=edge,target=80"), /ingress or host/);
  });

  it("reads mounts and secret references with docker's defaults", () => {
    assert.deepEqual(mountArg("type=tmpfs,dst=/t,ro"), [{ Type: "tmpfs", Target: "/t", ReadOnly: true }]);
    assert.throws(() => mountArg("type=bind,target=/x"), /needs source/);
    assert.deepEqual(fileRefArg("db"), [{ source: "db", uid: "0", gid: "0", mode: 0o444 }]);
    assert.deepEqual(fileRefArg("source=db,target=pw,uid=1,gid=2,mode=0400"), [{ source: "db", target: "pw", uid: "1", gid: "2", mode: 0o400 }]);
    assert.throws(() => fileRefArg("source=db,mode=9"), /octal/);
  });
});
