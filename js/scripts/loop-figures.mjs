#!/usr/bin/env node
// Figures of the event loop (issue 25), in one run on the default Node
// build: a host call's round trip (sync and async host functions) against
// the JSON path (sendMessage to receiveMessage), and a 1 MiB message as an
// ArrayBuffer (sendValue) against the JSON path (sendMessage of an array of
// numbers). The Rust crate's are in crates/xs-wasm/tests/event_loop.rs
// (`figures`). usage: node scripts/loop-figures.mjs
import { Sandbox } from '../src/node.mjs';

const s = await Sandbox.create({
  onLog() {},
  receiveMessage: (m) => m,
  hostFunctions: { echo: (v) => v, echoAsync: async (v) => v },
});
const n = 20000;
const time = async (source) => {
  const start = performance.now();
  await s.run(source);
  return ((performance.now() - start) * 1000) / n;
};
const json = await time(`for (let i = 0; i < ${n}; i++) sendMessage({ i })`);
const sync = await time(`for (let i = 0; i < ${n}; i++) host.echo({ i })`);
const async_ = await time(`(async () => { for (let i = 0; i < ${n}; i++) await host.echoAsync({ i }) })()`);
console.log(`host call round trip, us per call: JSON sendMessage ${json.toFixed(2)}, sync host function ${sync.toFixed(2)}, async host function ${async_.toFixed(2)}`);
s.evaluate('globalThis.receiveMessage = (m) => m');
const bytes = new Uint8Array(1 << 20).fill(7);
const asArray = Array.from(bytes);
const rounds = 20;
let start = performance.now();
for (let i = 0; i < rounds; i++) s.sendMessage(asArray);
const jsonMs = (performance.now() - start) / rounds;
start = performance.now();
for (let i = 0; i < rounds; i++) await s.sendValue(bytes.buffer);
const binaryMs = (performance.now() - start) / rounds;
console.log(`1 MiB round trip, ms: JSON array of numbers (sendMessage) ${jsonMs.toFixed(2)}, ArrayBuffer (sendValue) ${binaryMs.toFixed(2)}`);
s.dispose();
