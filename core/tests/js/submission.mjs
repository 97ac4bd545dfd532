// Reads a Minga submission with the official JavaScript automerge package and prints it as
// JSON; with a third argument, edits it as a JS app would and saves the bytes there.
// Usage: node submission.mjs <in.automerge> [<out.automerge>]
import * as Automerge from "@automerge/automerge";
import { readFileSync, writeFileSync } from "node:fs";

// Plain JSON of an automerge value: scalar strings and dates as JSON strings.
function plain(value) {
  if (value instanceof Automerge.ImmutableString) return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const [input, output] = process.argv.slice(2);
const doc = Automerge.load(new Uint8Array(readFileSync(input)));
process.stdout.write(JSON.stringify(plain(doc)));

if (output) {
  const edited = Automerge.change(doc, { message: "edited in JavaScript" }, (d) => {
    d.answers.household = 6;
    d.answers.participants[0].name = "Rosa from JS";
    d.status = "complete";
  });
  writeFileSync(output, Automerge.save(edited));
}
