// Stands in for got's HTTP/2 support in the bundle. got loads http2-wrapper at start-up but uses
// it only with the `http2: true` option, which tshup never sets; leaving it out saves every run
// the time to load it.
export default {
  globalAgent: undefined,
  auto() {
    throw new Error("tshup does not use HTTP/2");
  },
};
