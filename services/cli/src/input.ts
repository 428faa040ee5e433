// Reading a secret (the unlock key) from stdin: one line from a pipe, or from a terminal with a
// prompt and no echo. Owns the terminal's raw mode while it reads and always restores it.
import { CliError } from "./errors.js";
import type { CliIo } from "./io.js";

export async function readSecret(io: Pick<CliIo, "stdin" | "stdout">, prompt: string): Promise<string> {
  const line = io.stdin.isTTY === true && io.stdin.setRawMode !== undefined ? await readFromTerminal(io, prompt) : await readFirstLine(io.stdin);
  return line.trim();
}

async function readFirstLine(stdin: CliIo["stdin"]): Promise<string> {
  let text = "";
  for await (const chunk of stdin) {
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    const nl = text.indexOf("\n");
    if (nl >= 0) return text.slice(0, nl);
  }
  return text;
}

function readFromTerminal(io: Pick<CliIo, "stdin" | "stdout">, prompt: string): Promise<string> {
  const stdin = io.stdin;
  io.stdout.write(prompt);
  stdin.setRawMode!(true);
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let text = "";
    const done = (err?: Error): void => {
      stdin.removeListener("data", onData);
      stdin.setRawMode!(false);
      stdin.pause();
      io.stdout.write("\n");
      if (err === undefined) resolve(text);
      else reject(err);
    };
    const onData = (chunk: string | Buffer): void => {
      for (const ch of typeof chunk === "string" ? chunk : chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new CliError("CLI_FAILED", "cancelled: no unlock key entered"));
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on("data", onData);
  });
}
