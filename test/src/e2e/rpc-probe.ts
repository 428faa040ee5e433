// Run inside a lab host: calls one manager RPC with this host's own node certificate and prints
// {"ok":bool,"code":string,"message":string}. The e2e suite uses it to prove that a worker's
// certificate cannot call manager-only RPCs (the test process itself cannot reach lab addresses).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { clientCredentials } from "@shoal/manager";
import { RemoteError, callUnary, controlServiceDefinition, dispatcherServiceDefinition } from "@shoal/proto";

async function main(): Promise<void> {
  const [stateDir, target, call] = process.argv.slice(2);
  if (stateDir === undefined || target === undefined || call === undefined) throw new Error("usage: rpc-probe STATE_DIR HOST:PORT propose|join-raft|heartbeat");
  const certs = join(stateDir, "certificates");
  const keys = JSON.parse(await readFile(join(certs, "keys.json"), "utf8")) as { nodeKey: string };
  const creds = clientCredentials({ rootCertPem: await readFile(join(certs, "root.crt"), "utf8"), certPem: await readFile(join(certs, "node.crt"), "utf8"), keyPem: keys.nodeKey });
  const client = new grpc.Client(target, creds.credentials, creds.channelOptions);
  try {
    if (call === "propose") await callUnary(client, controlServiceDefinition.propose, { actions: new Uint8Array() });
    else if (call === "join-raft") await callUnary(client, controlServiceDefinition.joinRaft, { addr: "10.0.0.1:2377" });
    else await callUnary(client, dispatcherServiceDefinition.heartbeat, { advertiseAddr: "" });
    process.stdout.write(JSON.stringify({ ok: true, code: "", message: "" }) + "\n");
  } catch (err) {
    const code = err instanceof RemoteError ? err.code : "UNKNOWN";
    process.stdout.write(JSON.stringify({ ok: false, code, grpcStatus: err instanceof RemoteError ? err.meta.grpcStatus : -1, message: err instanceof Error ? err.message : String(err) }) + "\n");
  } finally {
    client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`rpc-probe: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
