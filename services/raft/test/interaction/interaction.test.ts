// Runs every golden interaction script in services/raft/testdata/*.txt and compares each
// command's output with the expectation checked in after its `----`. SHOAL_REWRITE=1 rewrites
// the files with what the code printed instead (see testdata/README.md: review every diff).

import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, InteractionEnv } from "./env.js";

// dist/test/interaction -> services/raft/testdata
const testdata = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "testdata");

interface Block {
  /** Lines before the command (comments, blank lines), kept verbatim on rewrite. */
  preamble: string[];
  command: Command;
  commandText: string;
  expected: string[];
}

/**
 * A script is a sequence of blocks: optional `#` comments, one command line, `----`, then the
 * expected output up to the next blank line (an empty output is written as `ok`).
 */
export function parseScript(text: string): { blocks: Block[]; trailer: string[] } {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  let preamble: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === "" || line.startsWith("#")) {
      preamble.push(line);
      i++;
      continue;
    }
    const commandText = line;
    if (lines[i + 1] !== "----") throw new Error(`line ${i + 2}: expected ---- after the command "${line}"`);
    i += 2;
    const expected: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== "") expected.push(lines[i++]!);
    blocks.push({ preamble, command: parseCommand(commandText, i), commandText, expected });
    preamble = [];
  }
  return { blocks, trailer: preamble };
}

function parseCommand(text: string, line: number): Command {
  const words = text.trim().split(/\s+/);
  const args: string[] = [];
  const kv = new Map<string, string>();
  for (const w of words.slice(1)) {
    const eq = w.indexOf("=");
    if (eq > 0) kv.set(w.slice(0, eq), w.slice(eq + 1));
    else args.push(w);
  }
  return { name: words[0]!, args, kv, line };
}

function render(blocks: Block[], outputs: string[][], trailer: string[]): string {
  const parts: string[] = [];
  blocks.forEach((b, k) => {
    parts.push(...b.preamble, b.commandText, "----", ...(outputs[k]!.length === 0 ? ["ok"] : outputs[k]!));
  });
  parts.push(...trailer);
  let text = parts.join("\n");
  if (!text.endsWith("\n")) text += "\n";
  return text;
}

const files = readdirSync(testdata)
  .filter((f) => f.endsWith(".txt"))
  .sort();

describe("raft interaction scripts (testdata/*.txt)", () => {
  it("finds the scripts", () => {
    assert.ok(files.length >= 10, `only ${files.length} scripts in ${testdata}`);
  });

  for (const file of files) {
    it(`${file} produces its checked-in trace`, () => {
      const path = join(testdata, file);
      const original = readFileSync(path, "utf8");
      const { blocks, trailer } = parseScript(original);
      const env = new InteractionEnv();
      const outputs = blocks.map((b) => env.run(b.command));
      if (process.env["SHOAL_REWRITE"] === "1") {
        writeFileSync(path, render(blocks, outputs, trailer));
        return;
      }
      blocks.forEach((b, k) => {
        const got = outputs[k]!.length === 0 ? ["ok"] : outputs[k]!;
        assert.deepEqual(got, b.expected, `${file}: output of "${b.commandText}" (block ${k + 1}) differs`);
      });
    });
  }
});
