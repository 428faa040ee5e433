// Docker's versioned paths: the CLI calls /v{negotiated}/…; we serve 1.24 to 1.50 and unprefixed
// paths alike (the routes are the same), so the prefix is stripped before routing. A version
// outside that range is left in place; it then matches no route and the not-found handler says
// which versions are supported, as Docker does.
import { API_VERSION, MIN_API_VERSION } from "./docker/index.js";

const PREFIX = /^\/v(\d+)\.(\d+)(?=\/|\?|$)/;
const [MIN_MAJOR, MIN_MINOR] = MIN_API_VERSION.split(".").map(Number) as [number, number];
const [MAX_MAJOR, MAX_MINOR] = API_VERSION.split(".").map(Number) as [number, number];

function compare(aMajor: number, aMinor: number, bMajor: number, bMinor: number): number {
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}

/** The URL to route: without a supported /vX.Y prefix. */
export function stripVersionPrefix(url: string): string {
  const m = PREFIX.exec(url);
  if (m === null) return url;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (compare(major, minor, MIN_MAJOR, MIN_MINOR) < 0 || compare(major, minor, MAX_MAJOR, MAX_MINOR) > 0) return url;
  const rest = url.slice(m[0].length);
  return rest === "" || rest.startsWith("?") ? `/${rest}` : rest;
}

/** Docker's message for an unsupported version prefix, or undefined when the URL has none. */
export function unsupportedVersionMessage(url: string): string | undefined {
  const m = PREFIX.exec(url);
  if (m === null) return undefined;
  const version = `${m[1]}.${m[2]}`;
  if (compare(Number(m[1]), Number(m[2]), MIN_MAJOR, MIN_MINOR) < 0) {
    return `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`;
  }
  if (compare(Number(m[1]), Number(m[2]), MAX_MAJOR, MAX_MINOR) > 0) {
    return `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`;
  }
  return undefined;
}
