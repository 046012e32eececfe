// The table list and the create-table form (key schema, billing, stream, global and local secondary indexes).

import { call } from "./api.js";
import { el, clear, field, select, message, formatBytes } from "./dom.js";

const TYPES = [["S", "String"], ["N", "Number"], ["B", "Binary"]];

async function listAll() {
  const names = [];
  let start;
  do {
    const page = await call("ListTables", start ? { ExclusiveStartTableName: start } : {});
    names.push(...(page.TableNames || []));
    start = page.LastEvaluatedTableName;
  } while (start);
  return names;
}

function keyInputs(prefix, required) {
  const pk = el("input", { placeholder: "partition key", testid: `${prefix}-pk`, required });
  const pkType = select(TYPES, "S", { testid: `${prefix}-pk-type` });
  const sk = el("input", { placeholder: "sort key (optional)", testid: `${prefix}-sk` });
  const skType = select(TYPES, "S", { testid: `${prefix}-sk-type` });
  return { pk, pkType, sk, skType, row: el("div", { class: "row" }, pk, pkType, sk, skType) };
}

function indexRow(kind, list, onRemove) {
  const name = el("input", { placeholder: "index name", testid: `${kind}-name`, required: true });
  const keys = keyInputs(kind, kind === "gsi");
  if (kind === "lsi") keys.pk.replaceWith(el("span", { class: "hint" }, "partition key of the table"));
  const projection = select(["ALL", "KEYS_ONLY", "INCLUDE"], "ALL", { testid: `${kind}-projection` });
  const include = el("input", { placeholder: "attributes, comma separated (INCLUDE)" });
  const row = el("div", { class: "index-row", testid: `${kind}-row` },
    name, keys.row, projection, include, el("button", { type: "button", onclick: () => { row.remove(); onRemove(entry); } }, "Remove"));
  const entry = { kind, name, keys, projection, include, row };
  list.push(entry);
  return row;
}

function projectionOf(entry) {
  const p = { ProjectionType: entry.projection.value };
  if (p.ProjectionType === "INCLUDE") p.NonKeyAttributes = entry.include.value.split(",").map((s) => s.trim()).filter(Boolean);
  return p;
}

/** Builds the CreateTable request from the form. */
function createRequest(form) {
  const definitions = new Map();
  const define = (name, type) => {
    if (name) definitions.set(name, type);
  };
  const schema = (pk, sk) => [{ AttributeName: pk, KeyType: "HASH" }, ...(sk ? [{ AttributeName: sk, KeyType: "RANGE" }] : [])];
  const k = form.keys;
  define(k.pk.value.trim(), k.pkType.value);
  define(k.sk.value.trim(), k.skType.value);
  const request = {
    TableName: form.name.value.trim(),
    KeySchema: schema(k.pk.value.trim(), k.sk.value.trim()),
    BillingMode: form.billing.value,
  };
  if (form.billing.value === "PROVISIONED") request.ProvisionedThroughput = { ReadCapacityUnits: Number(form.rcu.value), WriteCapacityUnits: Number(form.wcu.value) };
  if (form.stream.value !== "NONE") request.StreamSpecification = { StreamEnabled: true, StreamViewType: form.stream.value };
  const gsis = [];
  const lsis = [];
  for (const index of form.indexes) {
    const pk = index.kind === "lsi" ? k.pk.value.trim() : index.keys.pk.value.trim();
    const sk = index.keys.sk.value.trim();
    if (index.kind === "gsi") define(pk, index.keys.pkType.value);
    define(sk, index.keys.skType.value);
    const description = { IndexName: index.name.value.trim(), KeySchema: schema(pk, sk), Projection: projectionOf(index) };
    if (index.kind === "gsi" && request.ProvisionedThroughput) description.ProvisionedThroughput = { ...request.ProvisionedThroughput };
    (index.kind === "gsi" ? gsis : lsis).push(description);
  }
  if (gsis.length) request.GlobalSecondaryIndexes = gsis;
  if (lsis.length) request.LocalSecondaryIndexes = lsis;
  request.AttributeDefinitions = [...definitions].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
  return request;
}

function createForm(onCreated) {
  const form = {
    name: el("input", { placeholder: "table name", testid: "new-table-name", required: true }),
    keys: keyInputs("table", true),
    billing: select([["PAY_PER_REQUEST", "On demand"], ["PROVISIONED", "Provisioned"]], "PAY_PER_REQUEST", { testid: "billing-mode" }),
    rcu: el("input", { type: "number", min: 1, value: 5 }),
    wcu: el("input", { type: "number", min: 1, value: 5 }),
    stream: select(["NONE", "NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"], "NEW_AND_OLD_IMAGES", { testid: "stream-view-type" }),
    indexes: [],
  };
  const removed = (entry) => form.indexes.splice(form.indexes.indexOf(entry), 1);
  const indexes = el("div", { class: "indexes" });
  const result = el("div");
  const preview = el("pre", { class: "preview", testid: "create-preview" });
  const refresh = () => {
    try {
      preview.textContent = JSON.stringify(createRequest(form), null, 2);
    } catch (e) {
      preview.textContent = e.message;
    }
  };
  const submit = async (event) => {
    event.preventDefault();
    try {
      const request = createRequest(form);
      await call("CreateTable", request);
      clear(result, message("ok", `Created ${request.TableName}.`, "create-ok"));
      onCreated(request.TableName);
    } catch (e) {
      clear(result, message("error", `${e.type || "Error"}: ${e.message}`, "create-error"));
    }
  };
  const node = el("form", { class: "form card", onsubmit: submit, oninput: refresh, onchange: refresh, testid: "create-table-form" },
    el("h2", {}, "Create table"),
    field("Name", form.name),
    field("Primary key", form.keys.row),
    el("div", { class: "row" }, field("Capacity", form.billing), field("Read units", form.rcu), field("Write units", form.wcu)),
    field("Stream", form.stream),
    el("h3", {}, "Secondary indexes"), indexes,
    el("div", { class: "buttons" },
      el("button", { type: "button", testid: "add-gsi", onclick: () => { indexes.append(indexRow("gsi", form.indexes, removed)); refresh(); } }, "Add global index"),
      el("button", { type: "button", testid: "add-lsi", onclick: () => { indexes.append(indexRow("lsi", form.indexes, removed)); refresh(); } }, "Add local index")),
    el("details", {}, el("summary", {}, "Request"), preview),
    el("div", { class: "buttons" }, el("button", { type: "submit", class: "primary", testid: "create-table" }, "Create table")),
    result);
  refresh();
  return node;
}

export function tablesPage(root) {
  const list = el("tbody");
  const notice = el("div");
  let stopped = false;
  const load = async () => {
    try {
      const names = await listAll();
      if (stopped) return;
      clear(list, names.length ? null : el("tr", {}, el("td", { colspan: 6, class: "hint" }, "No tables yet.")));
      for (const name of names) {
        const row = el("tr", { testid: "table-row", "data-table": name },
          el("td", {}, el("a", { href: `#/tables/${encodeURIComponent(name)}` }, name)), el("td", {}, "…"), el("td"), el("td"), el("td"), el("td"));
        list.append(row);
        call("DescribeTable", { TableName: name }).then(({ Table: t }) => {
          const cells = row.children;
          clear(cells[1], el("span", { class: "status " + t.TableStatus }, t.TableStatus));
          clear(cells[2], (t.KeySchema || []).map((k) => `${k.AttributeName} (${k.KeyType === "HASH" ? "partition" : "sort"})`).join(", "));
          clear(cells[3], String(t.ItemCount ?? ""));
          clear(cells[4], formatBytes(t.TableSizeBytes));
          clear(cells[5], el("button", {
            class: "danger", testid: "delete-table",
            onclick: async () => {
              if (!confirm(`Delete table ${name}? Its items are gone unless a backup holds them.`)) return;
              try {
                await call("DeleteTable", { TableName: name });
                load();
              } catch (e) {
                clear(notice, message("error", `${e.type}: ${e.message}`));
              }
            },
          }, "Delete"));
        }).catch(() => clear(row.children[1], "?"));
      }
    } catch (e) {
      clear(notice, message("error", `${e.type || "Error"}: ${e.message}`, "tables-error"));
    }
  };
  clear(root,
    el("h1", {}, "Tables"),
    notice,
    el("table", { class: "grid", testid: "tables" },
      el("thead", {}, el("tr", {}, ["Name", "Status", "Key", "Items", "Size", ""].map((h) => el("th", {}, h)))), list),
    el("div", { class: "buttons" }, el("button", { onclick: load, testid: "refresh-tables" }, "Refresh")),
    createForm((name) => {
      load();
      location.hash = `#/tables/${encodeURIComponent(name)}`;
    }));
  load();
  return () => {
    stopped = true;
  };
}
