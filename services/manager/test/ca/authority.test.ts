import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { FakeClock } from "@shoal/common";
import {
  CertificateAuthority,
  caDigest,
  createCsr,
  createRootCa,
  generateNodeKey,
  parseNodeCertificate,
  verifyIssuedBy,
  type RootCaMaterial,
} from "../../src/ca/index.js";

const DAY_MS = 24 * 3600 * 1000;

function tamperedCsr(csrPem: string): string {
  const body = csrPem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  const der = Buffer.from(body, "base64");
  const at = der.indexOf("shoal-node");
  assert.ok(at > 0, "placeholder subject present in the CSR");
  der[at] = "x".charCodeAt(0);
  const lines = der.toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines}\n-----END CERTIFICATE REQUEST-----\n`;
}

describe("ca: root CA and certificate authority", () => {
  const clock = new FakeClock(Date.parse("2026-11-28T08:00:00Z"));
  let root: RootCaMaterial;
  let ca: CertificateAuthority;

  before(async () => {
    root = await createRootCa({ clusterId: "cluster-a", clock });
    ca = new CertificateAuthority(root, { clock });
  });

  it("creates a self-signed P-256 root CA named shoal-root-ca in the cluster's organization, valid 20 years", () => {
    const cert = new X509Certificate(root.certPem);
    assert.equal(cert.subject, "CN=shoal-root-ca\nO=cluster-a");
    assert.equal(cert.issuer, cert.subject);
    assert.ok(cert.ca);
    assert.ok(cert.verify(cert.publicKey));
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const years = (Date.parse(cert.validTo) - clock.now()) / (365 * DAY_MS);
    assert.ok(years > 19.9 && years < 20.1, `validity ${years} years`);
    assert.match(root.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  });

  it("renders the CA digest as 50 base36 characters, stable for one certificate and different for another", async () => {
    assert.match(caDigest(root.certPem), /^[0-9a-z]{50}$/);
    assert.equal(caDigest(root.certPem), ca.digest);
    const other = await createRootCa({ clusterId: "cluster-a", clock });
    assert.notEqual(caDigest(other.certPem), ca.digest);
  });

  it("issues a certificate naming the node, role and cluster, backdated one minute and valid 90 days", async () => {
    const { keyPem } = await generateNodeKey();
    const certPem = await ca.issue({ csrPem: await createCsr(keyPem), nodeId: "node-1", role: "worker", clusterId: "cluster-a" });
    const facts = parseNodeCertificate(certPem);
    assert.deepEqual(
      { nodeId: facts.nodeId, role: facts.role, clusterId: facts.clusterId },
      { nodeId: "node-1", role: "worker", clusterId: "cluster-a" },
    );
    assert.equal(facts.notBefore.getTime(), clock.now() - 60_000);
    assert.equal(facts.notAfter.getTime(), clock.now() + 90 * DAY_MS);
    const cert = new X509Certificate(certPem);
    assert.equal(cert.subject, "CN=node-1\nOU=shoal-worker\nO=cluster-a");
    assert.equal(cert.subjectAltName, "DNS:shoal-worker, DNS:node-1");
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert.equal(cert.ca, false);
    // The certificate carries the node's own key, not the CA's.
    assert.ok(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(keyPem)));
    assert.ok(verifyIssuedBy(certPem, root.certPem, clock.now()));
  });

  it("names a manager shoal-manager and gives each certificate its own random serial", async () => {
    const { keyPem } = await generateNodeKey();
    const csrPem = await createCsr(keyPem);
    const a = await ca.issue({ csrPem, nodeId: "m-1", role: "manager", clusterId: "cluster-a", validityMs: 3_600_000 });
    const b = await ca.issue({ csrPem, nodeId: "m-1", role: "manager", clusterId: "cluster-a", validityMs: 3_600_000 });
    assert.equal(parseNodeCertificate(a).role, "manager");
    assert.equal(new X509Certificate(a).subjectAltName, "DNS:shoal-manager, DNS:m-1");
    assert.notEqual(new X509Certificate(a).serialNumber, new X509Certificate(b).serialNumber);
    assert.equal(parseNodeCertificate(a).notAfter.getTime(), clock.now() + 3_600_000);
  });

  it("refuses a CSR whose content was changed after signing with CA_CSR_INVALID", async () => {
    const { keyPem } = await generateNodeKey();
    const csrPem = tamperedCsr(await createCsr(keyPem));
    await assert.rejects(ca.issue({ csrPem, nodeId: "n", role: "worker", clusterId: "cluster-a" }), { code: "CA_CSR_INVALID" });
  });

  it("refuses text that is not a CSR with CA_CSR_INVALID", async () => {
    await assert.rejects(ca.issue({ csrPem: "hello", nodeId: "n", role: "worker", clusterId: "cluster-a" }), { code: "CA_CSR_INVALID" });
  });

  it("fails verifyIssuedBy for a certificate issued by another CA, and outside the validity period", async () => {
    const otherRoot = await createRootCa({ clusterId: "cluster-a", clock });
    const other = new CertificateAuthority(otherRoot, { clock });
    const { keyPem } = await generateNodeKey();
    const certPem = await other.issue({ csrPem: await createCsr(keyPem), nodeId: "n", role: "worker", clusterId: "cluster-a", validityMs: DAY_MS });
    assert.equal(verifyIssuedBy(certPem, root.certPem, clock.now()), false);
    assert.equal(verifyIssuedBy(certPem, otherRoot.certPem, clock.now()), true);
    assert.equal(verifyIssuedBy(certPem, otherRoot.certPem, clock.now() + 2 * DAY_MS), false);
    assert.equal(verifyIssuedBy("garbage", otherRoot.certPem), false);
  });

  it("parseNodeCertificate refuses the root CA certificate (no role) with CA_CERT_INVALID", () => {
    assert.throws(() => parseNodeCertificate(root.certPem), { code: "CA_CERT_INVALID" });
    assert.throws(() => parseNodeCertificate("not pem"), { code: "CA_CERT_INVALID" });
  });

  it("refuses a node key that is not ECDSA P-256 with CA_KEY_INVALID", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey } = generateKeyPairSync("ed25519");
    await assert.rejects(createCsr(privateKey.export({ type: "pkcs8", format: "pem" }).toString()), { code: "CA_KEY_INVALID" });
  });
});
