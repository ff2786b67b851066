import { main } from "./cli.js";
import { exitWhenFlushed, realHost } from "./host.js";

let settled = false;
main(process.argv.slice(2), realHost()).then((code) => {
  settled = true;
  process.exitCode = code;
  exitWhenFlushed(code);
});

// Node exits with 0 once nothing is left to wait for, even while main() is still pending; a run
// stuck like that must never look like success. Another listener may just have given the run more
// to do (a question whose input ended cancels it), so the verdict waits one turn.
let waited = false;
process.on("beforeExit", () => {
  if (settled) return;
  if (!waited) {
    waited = true;
    setImmediate(() => {});
    return;
  }
  process.stderr.write("tshup: internal error: the run stopped before it finished\n  hint: this is a bug in tshup; please report it with the output of the same command run with --verbose\n");
  process.exit(1);
});
