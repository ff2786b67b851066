// Preloaded into a benchmarked tshup run (node -r): records the process's peak resident set at exit.
// On Linux that is VmHWM; getrusage's maxrss there also counts pages touched around fork/exec.
const fs = require("node:fs");
process.on("exit", () => {
  const file = process.env.TSHUP_BENCH_RSS_FILE;
  if (!file) return;
  let bytes = process.resourceUsage().maxRSS * 1024;
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (hwm) bytes = Number(hwm[1]) * 1024;
  } catch {
    // not Linux
  }
  fs.writeFileSync(file, String(bytes));
});
