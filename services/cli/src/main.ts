// The `shoal` executable (bin/shoal.js imports this): binds run() to the real process. Sets
// process.exitCode instead of exiting, so buffered output is flushed; prints a stack only with
// SHOAL_DEBUG=1.
import { describeError } from "@shoal/common";
import { run } from "./run.js";

// `shoal node ls | head -1` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

try {
  process.exitCode = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    // Lazy: creating process.stdin opens the terminal or pipe, which only `swarm unlock` reads.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
  });
} catch (err) {
  process.stderr.write(`Error: ${describeError(err)}\n`);
  if (process.env["SHOAL_DEBUG"] === "1" && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
  process.exitCode = 1;
}
