import type { Host } from "../host.js";
import { proxyFromBrowser } from "../core/proxyaddr.js";
import { printable } from "../core/format.js";
import { TshupError } from "../core/errors.js";

/** What the wizard can fill in; flags and the manifest pre-answer it, so it asks only the rest. */
export type PlanChoice = "proceed" | "customize" | "cancel";

/** Raised when the person pressed Ctrl-C or chose Cancel: nothing has been changed. */
export class Cancelled extends Error {
  constructor(readonly interrupted: boolean) {
    super(interrupted ? "interrupted" : "cancelled");
    this.name = "Cancelled";
  }
}

const NAME = /^[A-Za-z0-9._@+-]{1,128}$/;

// Each prompt is its own package: the wizard pays for the three it shows, not for every prompt kind
// (the editor prompt alone would add half a megabyte of character-set tables to every start).
const prompts = {
  input: async () => (await import("@inquirer/input")).default,
  confirm: async () => (await import("@inquirer/confirm")).default,
  select: async () => (await import("@inquirer/select")).default,
};

type PromptContext = { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; clearPromptOnDone: false; signal: AbortSignal };

/**
 * Asks one question; Ctrl-C, or Ctrl-D (which ends the input: the prompt's promise would never
 * settle, and the run would stop with nothing left to do), is Cancelled.
 */
async function guard<T>(host: Host, ask: (context: PromptContext) => Promise<T>): Promise<T> {
  if (!host.stdin) throw new Error("prompting needs a terminal on stdin");
  const inputGone = new AbortController();
  const onDrained = () => inputGone.abort();
  process.once("beforeExit", onDrained);
  try {
    return await ask({ input: host.stdin, output: host.stdout, clearPromptOnDone: false, signal: inputGone.signal });
  } catch (err) {
    if ((err as Error)?.name === "ExitPromptError" || (err as Error)?.name === "AbortPromptError") throw new Cancelled(true);
    throw err;
  } finally {
    process.removeListener("beforeExit", onDrained);
  }
}

/**
 * The proxy's `host:port`; a browser URL pasted whole gives its host and port, and the person is
 * told. Asked again, the last answer stands on the line ready to edit.
 */
export async function askProxy(host: Host, previous?: string): Promise<string> {
  const input = await prompts.input();
  const answer = await guard(host, (context) =>
    input(
      {
        message: "Teleport proxy (the address you open in a browser, e.g. teleport.example.com)",
        default: previous,
        prefill: "editable",
        validate: (v) => {
          try {
            proxyFromBrowser(v);
            return true;
          } catch (err) {
            return err instanceof TshupError ? err.message : String(err);
          }
        },
      },
      context,
    ),
  );
  const { address, dropped } = proxyFromBrowser(answer);
  if (dropped) host.stdout.write(`Using ${address.addr}: ${printable(dropped, 80)} is a page of its web UI, not part of the proxy's address.\n`);
  return address.addr;
}

/** The wizard's first line: what it sets up, and for whom when the site manifest gives its name. */
export function showHeader(host: Host, siteName: string | undefined): void {
  host.stdout.write(`tshup sets up Teleport's tsh${siteName ? ` for ${printable(siteName, 80)}` : ""}\n\n`);
}

/** An answer that did not work, said as the error would be, then what to do now. */
export function tellProblem(host: Host, err: TshupError, next: string): void {
  host.stdout.write(`${printable(err.message, 1000)}\n${err.hint ? `  hint: ${printable(err.hint, 1000)}\n` : ""}${next}\n`);
}

export async function askName(host: Host, message: string, current?: string): Promise<string> {
  const input = await prompts.input();
  return guard(host, (context) =>
    input({ message, default: current, validate: (v) => NAME.test(v.trim()) || "letters, digits and . _ @ + - only" }, context),
  ).then((v) => v.trim());
}

export async function askYesNo(host: Host, message: string, current: boolean): Promise<boolean> {
  const confirm = await prompts.confirm();
  return guard(host, (context) => confirm({ message, default: current }, context));
}

/** Shows the plan and asks what to do with it: the same options object feeds both answers. */
export async function askPlan(host: Host, planLines: string[]): Promise<PlanChoice> {
  host.stdout.write(`\n${planLines.join("\n")}\n\n`);
  const select = await prompts.select();
  return guard(host, (context) =>
    select<PlanChoice>(
      {
        message: "Go ahead?",
        choices: [
          { name: "Proceed", value: "proceed" },
          { name: "Customize", value: "customize" },
          { name: "Cancel", value: "cancel" },
        ],
      },
      context,
    ),
  );
}
