// What the server reports about itself on the local host's admin routes: GET /admin/metrics (per-table figures,
// the CloudWatch stand-in) drawn as charts, and GET /admin/triggers (each trigger mapping's position and lag).
// The function app has no admin routes; there these pages say so.

import { admin, activeCredentials } from "./api.js";
import { el, clear, message, formatBytes } from "./dom.js";
import { lineChart } from "./charts.js";

const SAMPLE_MS = 2000;
const KEEP_MS = 10 * 60 * 1000;

/**
 * Figures that only grow (consumed units, throttled requests, request counts) are charted as a rate per second;
 * the others (item count, size, latency, lag) as they are.
 */
function isCounter(name) {
  return /^Consumed|Throttle|Throttled|Requests$|Count$/.test(name) && !/^ItemCount$/.test(name);
}

const LABELS = {
  ConsumedReadCapacityUnits: ["Consumed read capacity", "RCU/s"],
  ConsumedWriteCapacityUnits: ["Consumed write capacity", "WCU/s"],
  ItemCount: ["Items", ""],
  TableSizeBytes: ["Size", "bytes"],
};

function label(name) {
  if (LABELS[name]) return LABELS[name];
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2");
  if (/Latency/.test(name)) return [words, /Micro/.test(name) ? "µs" : "ms"];
  if (/Throttl/.test(name)) return [words, "/s"];
  return [words, isCounter(name) ? "/s" : ""];
}

/** One sampler for the whole page: it keeps the history while the user moves between pages. */
const history = new Map(); // table -> Map(metric -> [{t, v}])
let sampler = null;
let lastSample = null;
let lastError = null;
const subscribers = new Set();

function numericFields(entry, prefix = "", out = {}) {
  for (const [name, value] of Object.entries(entry)) {
    if (typeof value === "number") out[prefix + name] = value;
  }
  return out;
}

async function sample() {
  try {
    const metrics = await admin("/admin/metrics");
    const t = Date.now();
    for (const table of metrics.Tables || []) {
      const series = history.get(table.TableName) || new Map();
      history.set(table.TableName, series);
      for (const [name, value] of Object.entries(numericFields(table))) {
        const raw = series.get("raw:" + name) || [];
        raw.push({ t, v: value });
        series.set("raw:" + name, raw.filter((p) => p.t >= t - KEEP_MS));
      }
    }
    lastSample = { t, metrics };
    lastError = null;
  } catch (e) {
    lastError = e;
  }
  for (const s of subscribers) s();
}

function subscribe(listener) {
  subscribers.add(listener);
  if (!sampler) {
    sample();
    sampler = setInterval(sample, SAMPLE_MS);
  }
  return () => {
    subscribers.delete(listener);
    if (subscribers.size === 0) {
      clearInterval(sampler);
      sampler = null;
    }
  };
}

/** The points to chart: rates for counters (per second between samples), values for the rest. */
function points(table, name) {
  const raw = history.get(table)?.get("raw:" + name) || [];
  if (!isCounter(name)) return raw;
  const rates = [];
  for (let i = 1; i < raw.length; i++) {
    const dt = (raw[i].t - raw[i - 1].t) / 1000;
    rates.push({ t: raw[i].t, v: dt > 0 ? Math.max(0, raw[i].v - raw[i - 1].v) / dt : 0 });
  }
  return rates;
}

function unavailable(e) {
  return e && (e.status === 404 || e.status === 405)
    ? message("warn", "This server does not serve /admin/metrics (the function app in Azure has no admin routes; its figures are in Application Insights).", "metrics-unavailable")
    : message("error", `${e.type}: ${e.message}`, "metrics-error");
}

function tableCharts(table) {
  const names = [...(history.get(table)?.keys() || [])].filter((k) => k.startsWith("raw:")).map((k) => k.slice(4));
  const has = (pattern) => names.some((n) => pattern.test(n));
  const charts = names.map((name) => {
    const [title, unit] = label(name);
    return lineChart({ title, unit: name === "TableSizeBytes" ? "" : unit, points: points(table, name), testid: "chart-" + name });
  });
  // Figures the server does not report yet still get their place on the page.
  if (!has(/Throttl/)) charts.push(el("figure", { class: "chart empty", testid: "chart-throttles" }, el("figcaption", {}, "Throttled requests"), el("p", { class: "hint" }, "Not reported by this server yet.")));
  if (!has(/Latency/)) charts.push(el("figure", { class: "chart empty", testid: "chart-latency" }, el("figcaption", {}, "Latency"), el("p", { class: "hint" }, "Not reported by this server yet.")));
  return el("div", { class: "charts" }, charts);
}

export function tableMetricsTab(root, name) {
  const body = el("div", { testid: "metrics" });
  const draw = () => {
    if (lastError && !history.has(name)) {
      clear(body, unavailable(lastError));
      return;
    }
    const entry = lastSample?.metrics?.Tables?.find((t) => t.TableName === name);
    clear(body,
      el("p", { class: "hint" }, `Sampled from GET /admin/metrics every ${SAMPLE_MS / 1000} s while the console is open; consumed capacity is per second.`),
      entry ? el("p", {}, `${entry.ItemCount} items, ${formatBytes(entry.TableSizeBytes)}`) : null,
      tableCharts(name));
  };
  clear(root, el("section", { class: "card" }, el("h2", {}, "Capacity, throttles and latency"), body));
  draw();
  return subscribe(draw);
}

export function metricsPage(root) {
  const body = el("div", { testid: "metrics" });
  const draw = () => {
    if (lastError && history.size === 0) {
      clear(body, unavailable(lastError));
      return;
    }
    clear(body, [...history.keys()].sort().map((table) =>
      el("section", { class: "card" }, el("h2", {}, el("a", { href: `#/tables/${encodeURIComponent(table)}/metrics` }, table)), tableCharts(table))));
  };
  clear(root, el("h1", {}, "Metrics"), el("p", { class: "hint" }, "Every table's figures from GET /admin/metrics, sampled every 2 s."), body);
  draw();
  return subscribe(draw);
}

function triggersView(root, filter) {
  let stopped = false;
  let timer = null;
  const body = el("div");
  const load = async () => {
    try {
      const { Mappings: all = [], Regions: regions = [] } = await admin("/admin/triggers");
      if (stopped) return;
      // A table page shows the mappings of the region the console signs for (the host's first region when it serves
      // no region of that name, as the host routes such requests).
      const names = regions.map((r) => r.Region);
      const signed = activeCredentials().region;
      const region = names.includes(signed) ? signed : names[0];
      const mappings = filter ? all.filter((m) => m.Table === filter && (!m.Region || m.Region === region)) : all;
      clear(body, mappings.length === 0
        ? el("p", { class: "hint", testid: "no-triggers" }, filter ? "No trigger mapping reads this table's stream. Mappings are configured with Triggers__N__Table and Triggers__N__Queue (docs/triggers.md)." : "No trigger mappings are configured (docs/triggers.md).")
        : el("table", { class: "grid", testid: "triggers" },
          el("thead", {}, el("tr", {}, ["Mapping", "Region", "Table", "Queue", "Batch", "Start", "Position", "Behind", "Lag", "State"].map((h) => el("th", {}, h)))),
          el("tbody", {}, mappings.map((m) => el("tr", { testid: "trigger-row", "data-mapping": m.Name, "data-region": m.Region || "" },
            el("td", {}, m.Name), el("td", { testid: "trigger-region" }, m.Region || ""),
            el("td", {}, el("a", { href: `#/tables/${encodeURIComponent(m.Table)}/triggers` }, m.Table)), el("td", {}, m.Queue),
            el("td", {}, String(m.BatchSize)), el("td", {}, m.StartingPosition),
            el("td", {}, m.Position ? `${m.Position.StreamLabel} @ ${m.Position.Lsn}` : "not started"),
            el("td", { testid: "trigger-behind" }, m.RecordsBehind === undefined || m.RecordsBehind === null ? "" : `${m.RecordsBehind}${m.RecordsBehindCapped ? "+" : ""} records`),
            el("td", { testid: "trigger-lag" }, m.LagSeconds === undefined || m.LagSeconds === null ? "caught up" : `${m.LagSeconds.toFixed(1)} s`),
            el("td", {}, m.LastProblem ? el("span", { class: "status FAILED" }, m.LastProblem) : m.Waiting ? el("span", { class: "hint" }, m.Waiting) : "ok"))))));
    } catch (e) {
      if (!stopped) clear(body, e.status === 404 ? message("warn", "This server does not serve /admin/triggers (the function app in Azure has no admin routes).") : message("error", `${e.type}: ${e.message}`));
    }
    if (!stopped) timer = setTimeout(load, 2000);
  };
  root.append(body);
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function tableTriggersTab(root, name) {
  const section = el("section", { class: "card" }, el("h2", {}, "Trigger mappings"),
    el("p", { class: "hint" }, "Each mapping delivers this table's stream to a queue (StreamFanOut). Position is the next record it will send; lag is the age of the oldest record it has not sent."));
  clear(root, section);
  return triggersView(section, name);
}

export function triggersPage(root) {
  const section = el("section", { class: "card" });
  clear(root, el("h1", {}, "Triggers"), section);
  return triggersView(section, null);
}
