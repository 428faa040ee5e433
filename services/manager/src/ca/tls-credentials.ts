// gRPC TLS credentials for node-to-node traffic. Servers request (but do not require) a client
// certificate, so an unjoined node can read the root CA and ask for its first certificate over TLS;
// handlers decide per call with authorizeCall. Owns transport trust only, never authorization.
//
// Joining, step by step (the only place verification is off):
//   1. dial any manager with bootstrapCredentials() and call the CA service's "get root CA" method;
//   2. checkCaDigest(rootCertPem, parseJoinToken(token).digest) — a mismatch is a wrong token or a
//      man in the middle, and the joiner stops there;
//   3. dial again with clientCredentials({ rootCertPem }) (no certificate yet) to send the join
//      token and CSR; from then on use clientCredentials with the issued certificate.
import { checkServerIdentity, createSecureContext, type PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { ROLE_OU, roleOfOu, type NodeRole } from "./certificate.js";
import { CaError } from "./errors.js";

export interface TlsMaterial {
  rootCertPem: string;
  certPem: string;
  keyPem: string;
}

export interface ReloadableServerCredentials extends grpc.ServerCredentials {
  /** Reads the material again now and serves it to new connections if it changed. */
  reload(): void;
}

export interface ServerCredentialsOptions {
  /** How often `get` is polled while a server uses the credentials; 0 turns polling off. */
  refreshIntervalMs?: number;
}

export const DEFAULT_TLS_REFRESH_INTERVAL_MS = 2_000;

/**
 * Server credentials that follow `get`: call reload() right after renewing a certificate, and as a
 * safety net `get` is polled every refreshIntervalMs while a server is bound. Existing connections
 * keep the certificate they were opened with; new handshakes get the current one. No restart.
 */
export function serverCredentials(get: () => TlsMaterial, opts: ServerCredentialsOptions = {}): ReloadableServerCredentials {
  const provider = new PolledCertificateProvider(get, opts.refreshIntervalMs ?? DEFAULT_TLS_REFRESH_INTERVAL_MS);
  // Same provider for roots and identity; requireClientCertificate=false: requested, not required.
  const creds = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
  return Object.assign(creds, { reload: () => provider.refresh() });
}

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/** A grpc-js CertificateProvider over a getter, polled only while someone listens. */
class PolledCertificateProvider implements grpc.experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private current: TlsMaterial | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly get: () => TlsMaterial,
    private readonly refreshIntervalMs: number,
  ) {
    // Fail at construction on missing material, not silently at the first handshake.
    this.current = checkedMaterial(get());
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.started();
    // Delivered after grpc-js has registered its own watcher: it adds our listener first and
    // would miss a synchronous first update.
    queueMicrotask(() => this.caListeners.has(listener) && listener(this.caUpdate()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.stoppedMaybe();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.started();
    queueMicrotask(() => this.identityListeners.has(listener) && listener(this.identityUpdate()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.stoppedMaybe();
  }

  refresh(): void {
    const next = checkedMaterial(this.get());
    const prev = this.current;
    this.current = next;
    if (prev?.rootCertPem !== next.rootCertPem) for (const l of this.caListeners) l(this.caUpdate());
    if (prev?.certPem !== next.certPem || prev.keyPem !== next.keyPem) for (const l of this.identityListeners) l(this.identityUpdate());
  }

  private caUpdate(): grpc.experimental.CaCertificateUpdate | null {
    return this.current === undefined ? null : { caCertificate: Buffer.from(this.current.rootCertPem) };
  }

  private identityUpdate(): grpc.experimental.IdentityCertificateUpdate | null {
    return this.current === undefined ? null : { certificate: Buffer.from(this.current.certPem), privateKey: Buffer.from(this.current.keyPem) };
  }

  private started(): void {
    if (this.timer !== undefined || this.refreshIntervalMs <= 0) return;
    this.timer = setInterval(() => {
      try {
        this.refresh();
      } catch {
        // Keep serving the last good material; the owner of `get` logs its own failures.
      }
    }, this.refreshIntervalMs);
    this.timer.unref();
  }

  private stoppedMaybe(): void {
    if (this.caListeners.size > 0 || this.identityListeners.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function checkedMaterial(m: TlsMaterial): TlsMaterial {
  if (!m.rootCertPem.includes("BEGIN CERTIFICATE") || !m.certPem.includes("BEGIN CERTIFICATE") || !m.keyPem.includes("PRIVATE KEY")) {
    throw new CaError({ code: "CA_TLS_MATERIAL_INVALID" }, "TLS material needs a root certificate, a certificate and a private key in PEM");
  }
  return m;
}

export interface ClientCredentialsOptions {
  rootCertPem: string;
  certPem?: string;
  keyPem?: string;
  /** Also require the server's certificate to name this role and/or cluster. */
  expect?: { role?: NodeRole; clusterId?: string };
}

/**
 * Channel credentials that trust only the cluster root. The target name is the role's OU
 * ("shoal-manager" unless expect.role says otherwise) rather than the dialled address, because
 * certificates name roles and node IDs, not addresses — any manager's address works.
 */
export function clientCredentials(opts: ClientCredentialsOptions): { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions } {
  if ((opts.certPem === undefined) !== (opts.keyPem === undefined)) {
    throw new CaError({ code: "CA_TLS_MATERIAL_INVALID" }, "a client certificate needs its private key (and the other way round)");
  }
  const expect = opts.expect;
  const targetName = ROLE_OU[expect?.role ?? "manager"];
  const credentials = grpc.credentials.createSsl(
    Buffer.from(opts.rootCertPem),
    opts.keyPem === undefined ? null : Buffer.from(opts.keyPem),
    opts.certPem === undefined ? null : Buffer.from(opts.certPem),
    { checkServerIdentity: (host, cert) => checkServerIdentity(host, cert) ?? checkExpected(cert, expect) },
  );
  return { credentials, channelOptions: { "grpc.ssl_target_name_override": targetName } };
}

function checkExpected(cert: PeerCertificate, expect: ClientCredentialsOptions["expect"]): Error | undefined {
  if (expect === undefined) return undefined;
  const role = roleOfOu(single(cert.subject.OU));
  const clusterId = single(cert.subject.O);
  if (expect.role !== undefined && role !== expect.role) {
    return new CaError({ code: "CA_CERT_INVALID" }, `the server's certificate is for a ${role ?? "non-node"} role, expected ${expect.role}`);
  }
  if (expect.clusterId !== undefined && clusterId !== expect.clusterId) {
    return new CaError({ code: "CA_CERT_INVALID" }, `the server belongs to cluster ${clusterId ?? "(none)"}, expected ${expect.clusterId}`);
  }
  return undefined;
}

/** One value of a subject field (Node gives an array when the field repeats, which we refuse). */
export function single(v: string | string[] | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * ONLY for a joining node's single "get root CA" call: TLS without verifying the server. Whatever it
 * returns must be pinned with checkCaDigest before anything trusts it; never use it for other RPCs.
 */
export function bootstrapCredentials(): { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions } {
  // A context of our own rather than createSsl(null): given no roots, grpc-js loads the bundle that
  // GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names, parsing every certificate in it on each call (27 ms of
  // CPU per join with Debian's bundle), for a handshake that verifies nothing.
  const credentials = grpc.credentials.createFromSecureContext(createSecureContext(), { rejectUnauthorized: false, checkServerIdentity: () => undefined });
  return { credentials, channelOptions: { "grpc.ssl_target_name_override": ROLE_OU.manager } };
}
