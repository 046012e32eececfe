// Items: browse with paging, scan or query with a builder (index, key condition, filters), and an editor that
// shows an item as DynamoDB JSON or as plain JSON, to create, replace or delete it.

import { call } from "./api.js";
import { el, clear, field, select, message } from "./dom.js";
import { marshallItem, unmarshallItem, plainLosesTypes, preview } from "./ddbjson.js";

const SORT_OPERATORS = [["", "(any)"], ["=", "="], ["<", "<"], ["<=", "<="], [">", ">"], [">=", ">="], ["BETWEEN", "between"], ["begins_with", "begins with"]];
const FILTER_OPERATORS = [["=", "="], ["<>", "≠"], ["<", "<"], ["<=", "<="], [">", ">"], [">=", ">="], ["begins_with", "begins with"], ["contains", "contains"],
  ["attribute_exists", "exists"], ["attribute_not_exists", "does not exist"]];
const PAGE_SIZES = ["10", "25", "50", "100"];

/** An attribute value of the given type from the text typed in the builder. */
function typed(type, text) {
  if (type === "N") return { N: text.trim() };
  if (type === "BOOL") return { BOOL: text.trim() === "true" };
  if (type === "B") return { B: text.trim() };
  return { S: text };
}

/**
 * The Scan or Query request the builder describes (without paging). Names and values always go through
 * placeholders (#n0, :v0), so any attribute name works, reserved words included.
 */
export function buildRequest(table, state) {
  const request = { TableName: table.TableName };
  const names = {};
  const values = {};
  let n = 0;
  let v = 0;
  const name = (attribute) => {
    const key = `#n${n++}`;
    names[key] = attribute;
    return key;
  };
  const value = (av) => {
    const key = `:v${v++}`;
    values[key] = av;
    return key;
  };
  if (state.index) request.IndexName = state.index;
  const schema = keySchemaOf(table, state.index);

  if (state.mode === "query") {
    const pk = schema.find((k) => k.KeyType === "HASH");
    const sk = schema.find((k) => k.KeyType === "RANGE");
    const conditions = [`${name(pk.AttributeName)} = ${value(typed(attributeType(table, pk.AttributeName), state.pkValue))}`];
    if (sk && state.skOperator) {
      const type = attributeType(table, sk.AttributeName);
      const skName = name(sk.AttributeName);
      if (state.skOperator === "BETWEEN") conditions.push(`${skName} BETWEEN ${value(typed(type, state.skValue))} AND ${value(typed(type, state.skValue2))}`);
      else if (state.skOperator === "begins_with") conditions.push(`begins_with(${skName}, ${value(typed(type, state.skValue))})`);
      else conditions.push(`${skName} ${state.skOperator} ${value(typed(type, state.skValue))}`);
    }
    request.KeyConditionExpression = conditions.join(" AND ");
    if (state.descending) request.ScanIndexForward = false;
  }

  const filters = [];
  for (const f of state.filters) {
    if (!f.attribute) continue;
    const attribute = name(f.attribute);
    if (f.operator === "attribute_exists" || f.operator === "attribute_not_exists") filters.push(`${f.operator}(${attribute})`);
    else if (f.operator === "begins_with" || f.operator === "contains") filters.push(`${f.operator}(${attribute}, ${value(typed(f.type, f.value))})`);
    else filters.push(`${attribute} ${f.operator} ${value(typed(f.type, f.value))}`);
  }
  if (filters.length) request.FilterExpression = filters.join(" AND ");
  if (Object.keys(names).length) request.ExpressionAttributeNames = names;
  if (Object.keys(values).length) request.ExpressionAttributeValues = values;
  return request;
}

function keySchemaOf(table, index) {
  if (!index) return table.KeySchema;
  const all = [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])];
  return (all.find((i) => i.IndexName === index) || table).KeySchema;
}

function attributeType(table, attribute) {
  return (table.AttributeDefinitions || []).find((d) => d.AttributeName === attribute)?.AttributeType || "S";
}

function keyOf(table, item) {
  const key = {};
  for (const k of table.KeySchema) if (item[k.AttributeName]) key[k.AttributeName] = item[k.AttributeName];
  return key;
}

/** The item editor: DynamoDB JSON or plain JSON, Save (PutItem) and Delete (DeleteItem). */
function editor(table, item, onSaved) {
  let format = "dynamodb";
  const text = el("textarea", { class: "json", rows: 16, spellcheck: "false", testid: "item-json" });
  const result = el("div");
  const isNew = !item;
  let current = item || Object.fromEntries(table.KeySchema.map((k) => [k.AttributeName, typed(attributeType(table, k.AttributeName), "")]));
  const show = () => {
    text.value = JSON.stringify(format === "dynamodb" ? current : unmarshallItem(current), null, 2);
    clear(result, format === "plain" && plainLosesTypes(current)
      ? message("warn", "Plain JSON shows sets as lists and binary as text; saving from here stores them so. Use DynamoDB JSON to keep their types.") : null);
  };
  const parse = () => {
    const value = JSON.parse(text.value);
    return format === "dynamodb" ? value : marshallItem(value);
  };
  const switchTo = (next) => {
    try {
      current = parse();
      format = next;
      show();
      for (const b of toggle.children) b.classList.toggle("active", b.dataset.format === format);
    } catch (e) {
      clear(result, message("error", `Not valid ${format === "dynamodb" ? "DynamoDB JSON" : "JSON"}: ${e.message}`));
    }
  };
  const toggle = el("div", { class: "toggle" },
    el("button", { type: "button", class: "active", "data-format": "dynamodb", testid: "format-dynamodb", onclick: () => switchTo("dynamodb") }, "DynamoDB JSON"),
    el("button", { type: "button", "data-format": "plain", testid: "format-plain", onclick: () => switchTo("plain") }, "Plain JSON"));
  const save = async () => {
    try {
      const next = parse();
      await call("PutItem", { TableName: table.TableName, Item: next });
      if (!isNew && JSON.stringify(keyOf(table, item)) !== JSON.stringify(keyOf(table, next))) {
        // The key changed: the edit is a new item, and the old one goes.
        await call("DeleteItem", { TableName: table.TableName, Key: keyOf(table, item) });
      }
      current = next;
      clear(result, message("ok", "Saved.", "item-saved"));
      onSaved();
    } catch (e) {
      clear(result, message("error", `${e.type || "Error"}: ${e.message}`, "item-error"));
    }
  };
  const remove = async () => {
    if (!confirm("Delete this item?")) return;
    try {
      await call("DeleteItem", { TableName: table.TableName, Key: keyOf(table, item) });
      clear(result, message("ok", "Deleted.", "item-deleted"));
      onSaved(true);
    } catch (e) {
      clear(result, message("error", `${e.type}: ${e.message}`));
    }
  };
  show();
  return el("section", { class: "card editor", testid: "item-editor" },
    el("h2", {}, isNew ? "New item" : "Item " + Object.values(keyOf(table, item)).map(preview).join(" / ")),
    toggle, text,
    el("div", { class: "buttons" }, el("button", { class: "primary", onclick: save, testid: "save-item" }, isNew ? "Create item" : "Save item"),
      isNew ? null : el("button", { class: "danger", onclick: remove, testid: "delete-item" }, "Delete item")),
    result);
}

export function itemsTab(root, name) {
  let table = null;
  const state = { mode: "scan", index: "", pkValue: "", skOperator: "", skValue: "", skValue2: "", descending: false, filters: [], pageSize: "25" };
  let pages = [undefined];
  let page = 0;
  const builder = el("section", { class: "card builder", testid: "builder" });
  const requestPreview = el("pre", { class: "preview", testid: "request-preview" });
  const results = el("section", { class: "card" });
  const editing = el("div");
  let stopped = false;

  const run = async (keepEditor) => {
    if (keepEditor !== true) clear(editing);
    let request;
    try {
      request = { ...buildRequest(table, state), Limit: Number(state.pageSize) };
    } catch (e) {
      clear(results, message("error", e.message));
      return;
    }
    if (pages[page]) request.ExclusiveStartKey = pages[page];
    requestPreview.textContent = JSON.stringify({ [state.mode === "query" ? "Query" : "Scan"]: request }, null, 2);
    try {
      const answer = await call(state.mode === "query" ? "Query" : "Scan", request);
      if (stopped) return;
      pages = pages.slice(0, page + 1);
      if (answer.LastEvaluatedKey) pages.push(answer.LastEvaluatedKey);
      showItems(answer);
    } catch (e) {
      clear(results, message("error", `${e.type}: ${e.message}`, "query-error"));
    }
  };

  const showItems = (answer) => {
    const items = answer.Items || [];
    const keys = table.KeySchema.map((k) => k.AttributeName);
    const others = new Set();
    for (const item of items) for (const a of Object.keys(item)) if (!keys.includes(a)) others.add(a);
    const columns = [...keys, ...[...others].sort().slice(0, 12)];
    clear(results,
      el("div", { class: "result-head" },
        el("span", { testid: "result-count" }, `${items.length} item${items.length === 1 ? "" : "s"} on page ${page + 1}`),
        answer.ScannedCount !== undefined ? el("span", { class: "hint" }, ` (${answer.ScannedCount} read)`) : null,
        el("span", { class: "spacer" }),
        el("button", { disabled: page === 0, testid: "previous-page", onclick: () => { page--; run(); } }, "Previous"),
        el("button", { disabled: pages.length <= page + 1, testid: "next-page", onclick: () => { page++; run(); } }, "Next")),
      el("table", { class: "grid items", testid: "items" },
        el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c)))),
        el("tbody", {}, items.map((item) => el("tr", {
          testid: "item-row", class: "clickable",
          onclick: () => clear(editing, editor(table, item, () => run(true))),
        }, columns.map((c) => el("td", {}, preview(item[c]))))))));
  };

  const reset = () => {
    pages = [undefined];
    page = 0;
  };

  const renderBuilder = () => {
    const indexes = [["", "table"], ...(table.GlobalSecondaryIndexes || []).map((i) => [i.IndexName, `${i.IndexName} (global)`]),
      ...(table.LocalSecondaryIndexes || []).map((i) => [i.IndexName, `${i.IndexName} (local)`])];
    const schema = keySchemaOf(table, state.index);
    const pk = schema.find((k) => k.KeyType === "HASH");
    const sk = schema.find((k) => k.KeyType === "RANGE");
    const bind = (input, key, rerender) => {
      input.addEventListener(input.tagName === "SELECT" || input.type === "checkbox" ? "change" : "input", () => {
        state[key] = input.type === "checkbox" ? input.checked : input.value;
        if (rerender) renderBuilder();
        else refreshPreview();
      });
      return input;
    };
    const filterRows = state.filters.map((f, i) => {
      const attribute = el("input", { placeholder: "attribute", value: f.attribute, testid: "filter-attribute" });
      const operator = select(FILTER_OPERATORS, f.operator, { testid: "filter-operator" });
      const type = select(["S", "N", "BOOL"], f.type, { testid: "filter-type" });
      const value = el("input", { placeholder: "value", value: f.value, testid: "filter-value" });
      for (const [input, key] of [[attribute, "attribute"], [operator, "operator"], [type, "type"], [value, "value"]])
        input.addEventListener(input.tagName === "SELECT" ? "change" : "input", () => { f[key] = input.value; refreshPreview(); });
      return el("div", { class: "row", testid: "filter-row" }, attribute, operator, type, value,
        el("button", { type: "button", onclick: () => { state.filters.splice(i, 1); renderBuilder(); } }, "Remove"));
    });
    clear(builder,
      el("div", { class: "row" },
        field("Operation", bind(select([["scan", "Scan"], ["query", "Query"]], state.mode, { testid: "mode" }), "mode", true)),
        field("Index", bind(select(indexes, state.index, { testid: "index" }), "index", true)),
        field("Page size", bind(select(PAGE_SIZES, state.pageSize, { testid: "page-size" }), "pageSize"))),
      state.mode === "query" ? el("div", { class: "row", testid: "key-condition" },
        field(`${pk.AttributeName} =`, bind(el("input", { value: state.pkValue, testid: "pk-value" }), "pkValue")),
        sk ? [
          field(`${sk.AttributeName}`, bind(select(SORT_OPERATORS, state.skOperator, { testid: "sk-operator" }), "skOperator", true)),
          state.skOperator ? field("value", bind(el("input", { value: state.skValue, testid: "sk-value" }), "skValue")) : null,
          state.skOperator === "BETWEEN" ? field("and", bind(el("input", { value: state.skValue2, testid: "sk-value2" }), "skValue2")) : null,
          field("Descending", bind(el("input", { type: "checkbox", checked: state.descending }), "descending")),
        ] : null) : null,
      el("div", { class: "filters" }, filterRows),
      el("div", { class: "buttons" },
        el("button", { type: "button", testid: "add-filter", onclick: () => { state.filters.push({ attribute: "", operator: "=", type: "S", value: "" }); renderBuilder(); } }, "Add filter"),
        el("button", { type: "button", class: "primary", testid: "run-query", onclick: () => { reset(); run(); } }, "Run"),
        el("button", { type: "button", testid: "new-item", onclick: () => clear(editing, editor(table, null, () => run(true))) }, "New item")),
      el("details", {}, el("summary", {}, "Request"), requestPreview));
    refreshPreview();
  };

  const refreshPreview = () => {
    try {
      requestPreview.textContent = JSON.stringify({ [state.mode === "query" ? "Query" : "Scan"]: { ...buildRequest(table, state), Limit: Number(state.pageSize) } }, null, 2);
    } catch (e) {
      requestPreview.textContent = e.message;
    }
  };

  clear(root, builder, editing, results);
  call("DescribeTable", { TableName: name }).then(({ Table: t }) => {
    if (stopped) return;
    table = t;
    renderBuilder();
    run();
  }).catch((e) => clear(builder, message("error", `${e.type}: ${e.message}`)));
  return () => {
    stopped = true;
  };
}
