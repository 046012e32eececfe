// One table: its tabs, and the overview (description, indexes with their backfill progress, adding a GSI).
// Replicas and cache have their tabs already; later work fills them.

import { call } from "./api.js";
import { el, clear, field, select, message, formatBytes, formatTime } from "./dom.js";
import { itemsTab } from "./items.js";
import { streamTab } from "./stream.js";
import { recoveryTab, backupsTab } from "./recovery.js";
import { tableMetricsTab, tableTriggersTab } from "./observe.js";

const TABS = [
  ["overview", "Overview"],
  ["items", "Items"],
  ["stream", "Stream"],
  ["recovery", "Point in time"],
  ["backups", "Backups"],
  ["triggers", "Triggers"],
  ["metrics", "Metrics"],
  ["replicas", "Replicas"],
  ["cache", "Cache"],
];

/** Later work (global tables, the cache) registers its tabs' content here: name -> (root, table) => cleanup. */
export const extensionTabs = {};

function placeholder(root, title, text) {
  clear(root, el("section", { class: "card placeholder", testid: "placeholder" }, el("h2", {}, title), el("p", {}, text)));
  return null;
}

function replicasTab(root, name) {
  const body = el("div");
  placeholder(root, "Replicas", "Replicas of this table (global tables) appear here once the server has them: each replica's region, status and replication lag.");
  root.append(body);
  call("DescribeTable", { TableName: name }).then(({ Table: t }) => {
    if (t.Replicas && t.Replicas.length) {
      clear(body, el("table", { class: "grid" }, el("thead", {}, el("tr", {}, el("th", {}, "Region"), el("th", {}, "Status"))),
        el("tbody", {}, t.Replicas.map((r) => el("tr", {}, el("td", {}, r.RegionName), el("td", {}, r.ReplicaStatus))))));
    }
  }).catch(() => {});
  return null;
}

function keyText(schema) {
  return (schema || []).map((k) => `${k.AttributeName} (${k.KeyType === "HASH" ? "partition" : "sort"})`).join(", ");
}

function indexProgress(index, table) {
  const backfilling = index.Backfilling === true || index.IndexStatus === "CREATING";
  const total = Math.max(table.ItemCount || 0, 1);
  const done = index.ItemCount || 0;
  return el("div", { class: "index-status", testid: "index-status", "data-index": index.IndexName },
    el("span", { class: "status " + index.IndexStatus }, index.IndexStatus),
    backfilling ? [" backfilling ", el("progress", { max: total, value: Math.min(done, total), testid: "backfill-progress" }), ` ${done} of about ${table.ItemCount || 0} items`] : null);
}

function addIndexForm(name, table, onDone) {
  const index = el("input", { placeholder: "index name", testid: "add-index-name", required: true });
  const pk = el("input", { placeholder: "partition key", testid: "add-index-pk", required: true });
  const pkType = select(["S", "N", "B"], "S");
  const sk = el("input", { placeholder: "sort key (optional)" });
  const skType = select(["S", "N", "B"], "S");
  const projection = select(["ALL", "KEYS_ONLY"], "ALL");
  const result = el("div");
  const submit = async (event) => {
    event.preventDefault();
    const definitions = [{ AttributeName: pk.value.trim(), AttributeType: pkType.value }];
    const keys = [{ AttributeName: pk.value.trim(), KeyType: "HASH" }];
    if (sk.value.trim()) {
      definitions.push({ AttributeName: sk.value.trim(), AttributeType: skType.value });
      keys.push({ AttributeName: sk.value.trim(), KeyType: "RANGE" });
    }
    const create = { IndexName: index.value.trim(), KeySchema: keys, Projection: { ProjectionType: projection.value } };
    if (table.BillingModeSummary?.BillingMode !== "PAY_PER_REQUEST" && table.ProvisionedThroughput?.ReadCapacityUnits)
      create.ProvisionedThroughput = { ReadCapacityUnits: table.ProvisionedThroughput.ReadCapacityUnits, WriteCapacityUnits: table.ProvisionedThroughput.WriteCapacityUnits };
    try {
      await call("UpdateTable", { TableName: name, AttributeDefinitions: definitions, GlobalSecondaryIndexUpdates: [{ Create: create }] });
      clear(result, message("ok", `Creating ${create.IndexName}; its backfill progress shows above.`));
      onDone();
    } catch (e) {
      clear(result, message("error", `${e.type}: ${e.message}`));
    }
  };
  return el("form", { class: "form card", onsubmit: submit, testid: "add-index-form" },
    el("h3", {}, "Add a global secondary index"),
    el("div", { class: "row" }, index, pk, pkType, sk, skType, projection, el("button", { type: "submit" }, "Create index")), result);
}

function overviewTab(root, name) {
  let timer = null;
  let stopped = false;
  const body = el("div");
  root.append(body);
  const load = async () => {
    try {
      const { Table: t } = await call("DescribeTable", { TableName: name });
      if (stopped) return;
      const gsis = t.GlobalSecondaryIndexes || [];
      const lsis = t.LocalSecondaryIndexes || [];
      const busy = t.TableStatus !== "ACTIVE" || gsis.some((g) => g.IndexStatus !== "ACTIVE");
      clear(body,
        el("section", { class: "card" },
          el("dl", { class: "facts" },
            el("dt", {}, "Status"), el("dd", { testid: "table-status" }, el("span", { class: "status " + t.TableStatus }, t.TableStatus)),
            el("dt", {}, "Key"), el("dd", {}, keyText(t.KeySchema)),
            el("dt", {}, "Items"), el("dd", { testid: "item-count" }, String(t.ItemCount ?? 0)),
            el("dt", {}, "Size"), el("dd", {}, formatBytes(t.TableSizeBytes)),
            el("dt", {}, "Capacity"), el("dd", {}, t.BillingModeSummary?.BillingMode === "PAY_PER_REQUEST" ? "On demand"
              : `Provisioned: ${t.ProvisionedThroughput?.ReadCapacityUnits} read, ${t.ProvisionedThroughput?.WriteCapacityUnits} write units`),
            el("dt", {}, "Stream"), el("dd", {}, t.StreamSpecification?.StreamEnabled ? `${t.StreamSpecification.StreamViewType} (${t.LatestStreamLabel})` : "off"),
            el("dt", {}, "Created"), el("dd", {}, formatTime(t.CreationDateTime)),
            t.RestoreSummary ? [el("dt", {}, "Restored from"), el("dd", {}, `${t.RestoreSummary.SourceTableArn || t.RestoreSummary.SourceBackupArn} at ${formatTime(t.RestoreSummary.RestoreDateTime)}${t.RestoreSummary.RestoreInProgress ? " (in progress)" : ""}`)] : null,
            el("dt", {}, "ARN"), el("dd", {}, el("code", {}, t.TableArn)))),
        el("section", { class: "card" },
          el("h2", {}, "Indexes"),
          gsis.length || lsis.length ? el("table", { class: "grid", testid: "indexes" },
            el("thead", {}, el("tr", {}, ["Name", "Kind", "Key", "Projection", "Items", "Status"].map((h) => el("th", {}, h)))),
            el("tbody", {},
              gsis.map((g) => el("tr", {}, el("td", {}, g.IndexName), el("td", {}, "global"), el("td", {}, keyText(g.KeySchema)),
                el("td", {}, g.Projection?.ProjectionType), el("td", {}, String(g.ItemCount ?? 0)), el("td", {}, indexProgress(g, t)))),
              lsis.map((l) => el("tr", {}, el("td", {}, l.IndexName), el("td", {}, "local"), el("td", {}, keyText(l.KeySchema)),
                el("td", {}, l.Projection?.ProjectionType), el("td", {}, String(l.ItemCount ?? 0)), el("td", {}, el("span", { class: "status ACTIVE" }, "ACTIVE"))))))
            : el("p", { class: "hint" }, "No secondary indexes."),
          addIndexForm(name, t, () => load())),
        el("details", { class: "card" }, el("summary", {}, "DescribeTable"), el("pre", { class: "preview" }, JSON.stringify(t, null, 2))));
      timer = setTimeout(load, busy ? 1000 : 5000);
    } catch (e) {
      if (!stopped) clear(body, message("error", `${e.type}: ${e.message}`, "table-error"));
    }
  };
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function tablePage(root, name, tab) {
  const content = el("div", { class: "tab-content", testid: "tab-" + tab });
  clear(root,
    el("div", { class: "crumbs" }, el("a", { href: "#/tables" }, "Tables"), " / "),
    el("h1", { testid: "table-title" }, name),
    el("nav", { class: "tabs" }, TABS.map(([id, text]) =>
      el("a", { href: `#/tables/${encodeURIComponent(name)}/${id}`, class: id === tab ? "active" : "", testid: "tab-link-" + id }, text))),
    content);
  switch (tab) {
    case "items":
      return itemsTab(content, name);
    case "stream":
      return streamTab(content, name);
    case "recovery":
      return recoveryTab(content, name);
    case "backups":
      return backupsTab(content, name);
    case "triggers":
      return tableTriggersTab(content, name);
    case "metrics":
      return tableMetricsTab(content, name);
    case "replicas":
      return extensionTabs.replicas ? extensionTabs.replicas(content, name) : replicasTab(content, name);
    case "cache":
      return extensionTabs.cache ? extensionTabs.cache(content, name)
        : placeholder(content, "Cache", "Cache figures for this table (hits, misses, evictions of a DAX-style cache) appear here once the server reports them in /admin/metrics.");
    default:
      return overviewTab(content, name);
  }
}
