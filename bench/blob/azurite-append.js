// azurite-append.js: Azurite's own ceiling for AppendBlock, with a trivial client (raw HTTP, keep-alive, SharedKey).
//   node azurite-append.js <blob endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1> <seconds> <bytes per append> <parallel blobs>
// Each of <parallel blobs> loops: one positioned AppendBlock at a time into its own append blob. Prints appends/s,
// latency percentiles, and (with AZPID set) Azurite's CPU per append.
const http = require("http"), crypto = require("crypto"), fs = require("fs");
const [endpoint, seconds = "10", size = "1400", parallel = "1"] = process.argv.slice(2);
const account = "devstoreaccount1";
const key = Buffer.from("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==", "base64");
const url = new URL(endpoint);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const container = "append-bench-" + Date.now();

function request(method, path, query, headers, body) {
  headers = { "x-ms-date": new Date().toUTCString(), "x-ms-version": "2025-11-05", ...headers };
  const length = body ? body.length : 0;
  const canonicalHeaders = Object.keys(headers).filter(h => h.startsWith("x-ms-")).sort().map(h => `${h}:${headers[h]}\n`).join("");
  const canonicalQuery = Object.keys(query).sort().map(k => `\n${k}:${query[k]}`).join("");
  const toSign = [method, "", "", length || "", "", headers["content-type"] || "", "", "", "", "", "", ""].join("\n") + "\n"
    + canonicalHeaders + `/${account}${url.pathname}${path}` + canonicalQuery;
  headers.authorization = `SharedKey ${account}:${crypto.createHmac("sha256", key).update(toSign, "utf8").digest("base64")}`;
  headers["content-length"] = length;
  const qs = Object.keys(query).map(k => `${k}=${query[k]}`).join("&");
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: url.hostname, port: url.port, method, path: `${url.pathname}${path}${qs ? "?" + qs : ""}`, headers }, res => {
      res.resume();
      res.on("end", () => res.statusCode < 300 ? resolve(res.statusCode) : reject(new Error(`${method} ${path}: ${res.statusCode}`)));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function cpu() {
  if (!process.env.AZPID) return 0;
  const f = fs.readFileSync(`/proc/${process.env.AZPID}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]);
}

(async () => {
  await request("PUT", `/${container}`, { restype: "container" }, {});
  const body = crypto.randomBytes(Number(size));
  const latencies = [];
  const deadline = Date.now() + Number(seconds) * 1000;
  const blobs = [...Array(Number(parallel)).keys()].map(i => `/${container}/b${i}`);
  for (const b of blobs) await request("PUT", b, {}, { "x-ms-blob-type": "AppendBlob" });
  const c0 = cpu(), t0 = process.hrtime.bigint();
  await Promise.all(blobs.map(async b => {
    for (let offset = 0; Date.now() < deadline; offset += body.length) {
      const s = process.hrtime.bigint();
      await request("PUT", b, { comp: "appendblock" }, { "x-ms-blob-condition-appendpos": String(offset) }, body);
      latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9, ticks = cpu() - c0;
  latencies.sort((a, b) => a - b);
  const p = q => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2);
  console.log(`azurite AppendBlock, ${parallel} blob(s) in parallel, ${size} B each: ${latencies.length} appends in ${wall.toFixed(1)} s = ${(latencies.length / wall).toFixed(0)}/s; `
    + `latency ms p50=${p(0.5)} p90=${p(0.9)} p99=${p(0.99)}`
    + (process.env.AZPID ? `; azurite cpu ${(ticks / 100 / wall).toFixed(2)} cores = ${(ticks * 1e4 / latencies.length).toFixed(0)} us per append` : ""));
  await request("DELETE", `/${container}`, { restype: "container" }, {});
})().catch(e => { console.error(e); process.exit(1); });
