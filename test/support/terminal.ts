import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "./cli.js";
import { requireTool } from "./tools.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TerminalStart {
  columns?: number;
  rows?: number;
  /** A shell pipeline tshup's stdout goes through, e.g. `tee log`: stdin stays the terminal. */
  pipeTo?: string;
  /** What runs as tshup (default: node dist/tshup.cjs), e.g. a single executable. */
  command?: string[];
}

/** tshup in a real terminal (tmux), driven by keystrokes and read from the screen, as a person sees it. */
export class Terminal {
  private readonly socket = `tshup-term-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly tmux = requireTool("tmux", "tmux");
  constructor(private readonly name: string) {}

  async start(args: string[], env: Record<string, string>, opts: TerminalStart = {}): Promise<void> {
    const vars = Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`);
    const quoted = [...(opts.command ?? [process.execPath, path.join(ROOT, "dist", "tshup.cjs")]), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`);
    const cmd = ["env", "-i", ...vars, ...quoted].join(" ");
    // The exit code goes to the terminal, not into the pipe, so it is tshup's and not the pipe's.
    const shell = opts.pipeTo ? `{ ${cmd}; echo EXIT=$? >&2; } | ${opts.pipeTo}; sleep 600` : `${cmd}; echo EXIT=$?; sleep 600`;
    const size = ["-x", String(opts.columns ?? 140), "-y", String(opts.rows ?? 50)];
    // The stand-in serves from this process: tmux must not block its event loop.
    await new Promise<void>((resolve, reject) =>
      spawn(this.tmux, ["-L", this.socket, "new-session", "-d", "-s", this.name, ...size, shell]).on("close", (c) =>
        c === 0 ? resolve() : reject(new Error(`tmux exited ${c}`)),
      ),
    );
  }

  /** The screen and its scrollback; `joined` undoes the terminal's wrapping of long lines. */
  screen(opts: { joined?: boolean } = { joined: true }): Promise<string> {
    return new Promise((resolve) => {
      let out = "";
      const p = spawn(this.tmux, ["-L", this.socket, "capture-pane", "-p", ...(opts.joined === false ? [] : ["-J"]), "-S", "-200", "-t", this.name]);
      p.stdout.on("data", (d) => (out += d));
      p.on("close", () => resolve(out));
    });
  }

  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.screen();
      if (pattern.test(s)) return s;
      if (Date.now() > end) throw new Error(`screen never showed ${pattern}:\n${s}`);
      await sleep(100);
    }
  }

  async keys(...keys: string[]): Promise<void> {
    await this.run(["send-keys", "-t", this.name, ...keys]);
    await sleep(150);
  }

  async type(text: string): Promise<void> {
    await this.run(["send-keys", "-t", this.name, "-l", text]);
    await sleep(150);
  }

  /** Resizes the window, as a person dragging its edge does; the program gets SIGWINCH. */
  async resize(columns: number, rows = 50): Promise<void> {
    await this.run(["resize-window", "-t", this.name, "-x", String(columns), "-y", String(rows)]);
  }

  private run(args: string[]): Promise<void> {
    return new Promise((r) => spawn(this.tmux, ["-L", this.socket, ...args]).on("close", () => r()));
  }

  close(): void {
    try {
      execFileSync(this.tmux, ["-L", this.socket, "kill-server"], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
}
