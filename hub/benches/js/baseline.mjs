// The hub benchmark's peer baseline: automerge-repo's own sync server (websocket network,
// node-fs storage) on loopback, holding N submission-shaped documents (40 short answers each,
// like hub/benches/hub.rs), and a fresh client repo in another process that pulls all of them,
// IN_FLIGHT requests at a time. Prints one JSON line with the pull's time.
//
// Run: node baseline.mjs [N] [IN_FLIGHT]      (hub/benches/hub.rs runs it after `npm ci`)

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Repo } from "@automerge/automerge-repo";
import {
  BrowserWebSocketClientAdapter,
  NodeWSServerAdapter,
} from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { WebSocketServer } from "ws";

const [mode, ...rest] = process.argv.slice(2);

if (mode === "server") {
  await serve(Number(rest[0]), rest[1]);
} else {
  await measure(Number(mode ?? 10000), Number(rest[0] ?? 64));
}

function submission(n) {
  const answers = {};
  for (let q = 0; q < 40; q++) answers[`q${q}`] = `answer ${q} of submission ${n}`;
  return {
    meta: { form_id: "community_safety_assessment", form_version: "1" },
    answers,
    status: "complete",
  };
}

// The server: stores `count` documents, writes their URLs to `urlsFile`, prints its port.
async function serve(count, urlsFile) {
  const dir = mkdtempSync(join(tmpdir(), "amrepo-server-"));
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((ready) => wss.on("listening", ready));
  const repo = new Repo({
    network: [new NodeWSServerAdapter(wss)],
    storage: new NodeFSStorageAdapter(dir),
    peerId: "server",
    sharePolicy: async () => false,
  });
  const urls = [];
  for (let n = 0; n < count; n++) urls.push(repo.create(submission(n)).url);
  await repo.flush();
  writeFileSync(urlsFile, urls.join("\n"));
  console.log(`READY ${wss.address().port}`);
  process.on("SIGTERM", () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

async function measure(count, inFlight) {
  const scratch = mkdtempSync(join(tmpdir(), "amrepo-bench-"));
  const urlsFile = join(scratch, "urls.txt");
  const server = spawn(process.execPath, [process.argv[1], "server", String(count), urlsFile], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const seeded = Date.now();
  const port = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: server.stdout });
    lines.on("line", (line) => line.startsWith("READY ") && resolve(Number(line.slice(6))));
    server.on("exit", (code) => reject(new Error(`the server exited with ${code}`)));
  });
  const seedSeconds = (Date.now() - seeded) / 1000;
  const urls = readFileSync(urlsFile, "utf8").split("\n");

  const client = new Repo({
    network: [new BrowserWebSocketClientAdapter(`ws://127.0.0.1:${port}`)],
    peerId: `client-${process.pid}`,
  });
  await client.networkSubsystem.whenReady();
  const started = Date.now();
  let next = 0;
  let found = 0;
  let unavailable = 0;
  async function worker() {
    while (next < urls.length) {
      const url = urls[next++];
      try {
        const handle = await client.find(url);
        if (handle.doc()?.answers?.q39 !== undefined) found++;
      } catch {
        unavailable++;
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (Date.now() - started) / 1000;
  console.log(
    JSON.stringify({ docs: count, in_flight: inFlight, found, unavailable, seconds, seed_seconds: seedSeconds }),
  );
  server.kill("SIGTERM");
  rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
}
