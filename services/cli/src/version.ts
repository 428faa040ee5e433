// The CLI's own version: the package's, read once from package.json beside dist/ (so a release bump
// needs no code change).
import { readFileSync } from "node:fs";

function readVersion(): string {
  try {
    // dist/src/version.js → ../../package.json
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

export const CLIENT_VERSION = readVersion();
