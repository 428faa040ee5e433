// Object IDs: 25 lowercase base-36 characters, as swarm's (the docker CLI shows and accepts them,
// and prefix lookups assume them). Randomness is injected so that tests are reproducible.
import type { Random } from "@shoal/common";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
export const ID_LENGTH = 25;

export function generateId(random: Random): string {
  let id = "";
  for (let i = 0; i < ID_LENGTH; i++) id += ALPHABET[random.int(ALPHABET.length)];
  return id;
}
