import fs from "node:fs";
import { linux, startStandin } from "../test/support/standin.js";
const s = await startStandin();
const addrs: string[] = [];
for (let i = 0; i < 20; i++) addrs.push((await s.addProxy({ cluster: `c${i}`, serverVersion: "17.5.1" })).addr);
await s.addArtifact(linux("17.5.1"));
fs.writeFileSync("/tmp/prof/standin.json", JSON.stringify({ addrs, caFile: s.caFile, cdn: s.cdnUrl, env: s.env }));
console.log("ready");
setInterval(() => {}, 1e6);
