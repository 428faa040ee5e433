// Image references ("busybox", "registry.example:5000/team/app:1.2@sha256:…"), parsed by the
// grammar registries and the docker CLI use (the OCI distribution reference grammar): an optional
// registry domain, a lowercase repository path, an optional tag and an optional digest. A name
// without a domain is on Docker Hub, and a one-part one under "library/". The API refuses a
// service whose image does not parse (as swarm does) rather than let every task fail at its pull;
// the runtime will pull by the parts. Pure.

export interface ImageReference {
  /** Registry host[:port]; "docker.io" when the reference names none. */
  domain: string;
  /** Repository path within the registry ("library/busybox" for "busybox" on Docker Hub). */
  path: string;
  tag?: string;
  /** "algorithm:hex". */
  digest?: string;
}

export const DEFAULT_IMAGE_DOMAIN = "docker.io";
const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IMAGE_ID = /^[a-f0-9]{64}$/;

export type ImageReferenceResult = { ok: true; ref: ImageReference } | { ok: false; reason: string };

export function parseImageReference(text: string): ImageReferenceResult {
  const fail = (reason: string): ImageReferenceResult => ({ ok: false, reason });
  if (text === "") return fail("it is empty");
  if (IMAGE_ID.test(text)) return fail("a 64-character hexadecimal string is an image ID, not a repository name");
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return fail(`digest "${digest}" is not algorithm:hex (e.g. sha256: and at least 32 hexadecimal digits)`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return fail(`tag "${tag}" may hold only letters, digits, '_', '.' and '-', not start with '.' or '-', and be at most 128 characters`);
  }
  if (rest === "") return fail("it names no repository");
  if (rest.length > MAX_NAME_LENGTH) return fail(`the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  const parts = rest.split("/");
  let domain = DEFAULT_IMAGE_DOMAIN;
  const first = parts[0]!;
  // As the docker CLI splits it: the first part is a registry when it looks like a host.
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    domain = first;
    parts.shift();
    const why = checkDomain(domain);
    if (why !== undefined) return fail(why);
  }
  for (const p of parts) {
    if (PATH_COMPONENT.test(p)) continue;
    if (PATH_COMPONENT.test(p.toLowerCase())) return fail("the repository name must be lowercase");
    return fail(`"${p}" is not a valid repository name component (lowercase letters and digits, separated by '.', '_', '__' or dashes)`);
  }
  const path = domain === DEFAULT_IMAGE_DOMAIN && parts.length === 1 ? `library/${parts[0]}` : parts.join("/");
  const ref: ImageReference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return { ok: true, ref };
}

function checkDomain(domain: string): string | undefined {
  let host = domain;
  const portAt = domain.lastIndexOf(":");
  if (portAt >= 0 && !domain.endsWith("]")) {
    const port = domain.slice(portAt + 1);
    host = domain.slice(0, portAt);
    if (!/^[0-9]+$/.test(port)) return `registry "${domain}" has an invalid port "${port}"`;
  }
  if (IPV6_HOST.test(host)) return undefined;
  if (host.split(".").every((c) => DOMAIN_COMPONENT.test(c))) return undefined;
  return `registry "${domain}" is not a valid host name`;
}

/**
 * The reference as the docker CLI shows it: Docker Hub's domain and "library/" left out, and
 * ":latest" added when it names neither a tag nor a digest ("busybox" → "busybox:latest").
 */
export function familiarImageReference(ref: ImageReference): string {
  let name = ref.domain === DEFAULT_IMAGE_DOMAIN ? ref.path.replace(/^library\/(?=[^/]+$)/, "") : `${ref.domain}/${ref.path}`;
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  else if (ref.digest === undefined) name += ":latest";
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}
