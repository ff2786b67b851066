import v8 from "node:v8";
import vm from "node:vm";

type Collect = (options?: { type?: "minor" | "major" }) => void;
let collect: Collect | null | undefined;

/**
 * A download churns through its whole size in short-lived Buffers whose memory lives outside V8's
 * heap, so V8 sees little pressure and lets them pile up: a 150 MB archive would push the peak RSS
 * past 100 MB. A young-generation collection every half megabyte or so keeps the peak flat whatever the
 * archive size, for about a millisecond each.
 */
export function byteBudgetCollector(everyBytes: number): (bytes: number) => void {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      collect = vm.runInNewContext("gc") as Collect;
    } catch {
      collect = null;
    }
  }
  let since = 0;
  return (bytes: number) => {
    since += bytes;
    if (since < everyBytes || !collect) return;
    since = 0;
    collect({ type: "minor" });
  };
}
