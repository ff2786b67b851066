// Preloaded into a benchmarked run (node -r): records at exit, as JSON, the process's peak resident
// set (VmHWM on Linux; getrusage's maxrss there also counts pages touched around fork/exec), the CPU
// time of all its threads, the bytes it passed to write() (wchar in /proc/self/io), and of those the
// bytes that never reached the disk because their file went before writeback (cancelled_write_bytes).
const fs = require("node:fs");
process.on("exit", () => {
  const file = process.env.TSHUP_BENCH_FIGURES_FILE;
  if (!file) return;
  const usage = process.resourceUsage();
  const figures = { rss: usage.maxRSS * 1024, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, written: null, cancelled: null };
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (hwm) figures.rss = Number(hwm[1]) * 1024;
    const io = fs.readFileSync("/proc/self/io", "utf8");
    const wchar = /^wchar: (\d+)$/m.exec(io);
    const cancelled = /^cancelled_write_bytes: (\d+)$/m.exec(io);
    if (wchar) figures.written = Number(wchar[1]);
    if (cancelled) figures.cancelled = Number(cancelled[1]);
  } catch {
    // not Linux
  }
  fs.writeFileSync(file, JSON.stringify(figures));
});
