import assert from "node:assert/strict";
import { SeededRandom } from "@shoal/common";
import {
  caDigest,
  checkCaDigest,
  createRootCa,
  generateDataKey,
  generateJoinToken,
  generateUnlockKey,
  parseJoinToken,
  parseUnlockKey,
  renewalDelayMs,
  tokenMatches,
  unwrapKey,
  wrapKey,
  type RootCaMaterial,
} from "../../src/ca/index.js";

describe("ca: join tokens", () => {
  let root: RootCaMaterial;
  let other: RootCaMaterial;

  before(async () => {
    [root, other] = await Promise.all([createRootCa({ clusterId: "c" }), createRootCa({ clusterId: "c" })]);
  });

  it("generates SHTKN-1-<digest>-<25 base36 secret> tokens that parse back to the CA digest", () => {
    const token = generateJoinToken(root.certPem);
    assert.match(token, /^SHTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    const { digest, secret } = parseJoinToken(token);
    assert.equal(digest, caDigest(root.certPem));
    assert.equal(token, `SHTKN-1-${digest}-${secret}`);
    assert.notEqual(generateJoinToken(root.certPem), token, "each token has a fresh secret");
  });

  const malformed: [string, (t: string) => string, RegExp][] = [
    ["an empty string", () => "", /4/],
    ["another prefix", (t) => t.replace("SHTKN", "SWMTKN"), /SHTKN/],
    ["another version", (t) => t.replace("SHTKN-1-", "SHTKN-2-"), /version/],
    ["a short digest", (t) => t.replace(/^(SHTKN-1-)./, "$1"), /digest/],
    ["upper-case in the secret", (t) => t.slice(0, -1) + "A", /secret/],
    ["an extra part", (t) => `${t}-x`, /5 dash-separated parts/],
  ];
  for (const [name, mangle, detail] of malformed) {
    it(`refuses a token with ${name} as CA_TOKEN_MALFORMED, saying what a token looks like`, () => {
      const bad = mangle(generateJoinToken(root.certPem));
      assert.throws(
        () => parseJoinToken(bad),
        (err: Error & { code?: string }) =>
          err.code === "CA_TOKEN_MALFORMED" && err.message.startsWith("join token must look like SHTKN-1-<digest>-<secret>") && detail.test(err.message),
      );
    });
  }

  it("tokenMatches compares whole tokens and never matches an empty expected token", () => {
    const t = generateJoinToken(root.certPem);
    assert.equal(tokenMatches(t, t), true);
    assert.equal(tokenMatches(t, generateJoinToken(root.certPem)), false);
    assert.equal(tokenMatches(t.slice(0, -1), t), false);
    assert.equal(tokenMatches("", ""), false);
  });

  it("checkCaDigest accepts the token's CA and refuses another with CA_DIGEST_MISMATCH", () => {
    const { digest } = parseJoinToken(generateJoinToken(root.certPem));
    checkCaDigest(root.certPem, digest);
    assert.throws(() => checkCaDigest(other.certPem, digest), {
      code: "CA_DIGEST_MISMATCH",
      message: "the manager's root CA does not match the join token: wrong token or a man in the middle",
    });
  });
});

describe("ca: renewal window", () => {
  const DAY_MS = 24 * 3600 * 1000;
  const notBefore = new Date(Date.parse("2026-01-01T00:00:00Z"));
  const notAfter = new Date(notBefore.getTime() + 90 * DAY_MS);

  it("renews between 50 % and 80 % of the life, spread across the window (seed 7, 500 draws)", () => {
    const random = new SeededRandom(7);
    const fractions: number[] = [];
    for (let i = 0; i < 500; i++) fractions.push(renewalDelayMs(notBefore, notAfter, notBefore.getTime(), random) / (90 * DAY_MS));
    assert.ok(Math.min(...fractions) >= 0.5 && Math.max(...fractions) <= 0.8);
    assert.ok(Math.min(...fractions) < 0.52 && Math.max(...fractions) > 0.78, "draws reach both ends of the window");
  });

  it("subtracts the time already elapsed", () => {
    const now = notBefore.getTime() + 10 * DAY_MS;
    const fixed = { next: () => 0.5, int: () => 0 };
    assert.equal(renewalDelayMs(notBefore, notAfter, now, fixed), 0.65 * 90 * DAY_MS - 10 * DAY_MS);
  });

  it("is 0 once the renewal point has passed", () => {
    assert.equal(renewalDelayMs(notBefore, notAfter, notAfter.getTime() - 1, new SeededRandom(1)), 0);
  });
});

describe("ca: keys at rest", () => {
  it("generates 32-byte data keys and SHKEY-1 unlock keys that parse to 32 bytes", () => {
    assert.equal(generateDataKey().length, 32);
    const unlock = generateUnlockKey();
    assert.match(unlock, /^SHKEY-1-[A-Za-z0-9_-]{43}$/);
    assert.equal(parseUnlockKey(unlock).length, 32);
    assert.deepEqual(parseUnlockKey(` ${unlock}\n`), parseUnlockKey(unlock), "surrounding whitespace from a terminal is ignored");
  });

  // "…AB": the last character's unused low bits set, so it decodes to the same bytes as "…AA".
  for (const bad of ["", "SHKEY-1-", "SHKEY-2-" + "A".repeat(43), "SHKEY-1-" + "A".repeat(42), "SHKEY-1-" + "!".repeat(43), "SHKEY-1-" + "A".repeat(42) + "B"]) {
    it(`refuses the unlock key ${JSON.stringify(bad.slice(0, 12))}… (length ${bad.length}) as CA_UNLOCK_KEY_MALFORMED`, () => {
      assert.throws(() => parseUnlockKey(bad), { code: "CA_UNLOCK_KEY_MALFORMED" });
    });
  }

  it("unwraps what it wrapped under the same key, with a fresh IV each time", () => {
    const kek = parseUnlockKey(generateUnlockKey());
    const key = generateDataKey();
    const a = wrapKey(key, kek);
    const b = wrapKey(key, kek);
    assert.notEqual(a, b);
    assert.deepEqual(unwrapKey(a, kek), key);
    assert.deepEqual(unwrapKey(b, kek), key);
    assert.equal(unwrapKey(wrapKey(Buffer.from("a PEM key of any length"), kek), kek).toString(), "a PEM key of any length");
  });

  it("refuses to unwrap with the wrong key: CA_UNLOCK_KEY_WRONG, 'the unlock key is wrong'", () => {
    const wrapped = wrapKey(generateDataKey(), generateDataKey());
    assert.throws(() => unwrapKey(wrapped, generateDataKey()), { code: "CA_UNLOCK_KEY_WRONG", message: "the unlock key is wrong" });
  });

  it("refuses a damaged wrapped key as CA_WRAPPED_KEY_MALFORMED and a short key-encryption key as CA_UNLOCK_KEY_MALFORMED", () => {
    const kek = generateDataKey();
    assert.throws(() => unwrapKey("v1.abc", kek), { code: "CA_WRAPPED_KEY_MALFORMED" });
    assert.throws(() => unwrapKey("nonsense", kek), { code: "CA_WRAPPED_KEY_MALFORMED" });
    assert.throws(() => wrapKey(generateDataKey(), Buffer.alloc(16)), { code: "CA_UNLOCK_KEY_MALFORMED" });
  });
});
