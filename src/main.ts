import { main } from "./cli.js";
import { realHost } from "./host.js";

main(process.argv.slice(2), realHost()).then((code) => {
  process.exitCode = code;
});
