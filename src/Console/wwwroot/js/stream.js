// A live view of a table's stream through the DynamoDB Streams API, as a consumer reads it: DescribeStream for
// the shards, GetShardIterator (LATEST, or TRIM_HORIZON for what is retained), then GetRecords on each open
// iterator about once a second, following NextShardIterator, and re-describing when a shard closes.

import { call, streams } from "./api.js";
import { el, clear, select, message, formatTime } from "./dom.js";
import { preview } from "./ddbjson.js";

const MAX_SHOWN = 200;

function keysText(keys) {
  return Object.entries(keys || {}).map(([k, v]) => `${k}=${preview(v)}`).join(", ");
}

function recordView(record) {
  const d = record.dynamodb || {};
  return el("li", { class: "stream-record " + record.eventName, testid: "stream-record", "data-event": record.eventName },
    el("div", { class: "record-head" },
      el("b", {}, record.eventName), " ", el("span", { testid: "record-keys" }, keysText(d.Keys)),
      el("span", { class: "hint" }, ` seq ${d.SequenceNumber} · ${formatTime(d.ApproximateCreationDateTime)}`)),
    d.NewImage || d.OldImage ? el("details", {}, el("summary", {}, "images"),
      el("pre", { class: "preview" }, JSON.stringify({ OldImage: d.OldImage, NewImage: d.NewImage }, null, 2))) : null);
}

export function streamTab(root, name) {
  let stopped = false;
  let watching = false;
  let timer = null;
  let iterators = new Map(); // shardId -> iterator
  let arn = null;
  let count = 0;
  const position = select([["LATEST", "new records only (LATEST)"], ["TRIM_HORIZON", "everything retained (TRIM_HORIZON)"]], "LATEST", { testid: "stream-position" });
  const state = el("span", { testid: "stream-state" }, "stopped");
  const counter = el("span", { testid: "stream-count" }, "0");
  const list = el("ol", { class: "stream", reversed: true, testid: "stream-records" });
  const notice = el("div");
  const button = el("button", { class: "primary", testid: "stream-toggle" }, "Watch");
  const head = el("div");

  const describeShards = async () => {
    const shards = [];
    let start;
    do {
      const { StreamDescription: s } = await streams("DescribeStream", { StreamArn: arn, ...(start ? { ExclusiveStartShardId: start } : {}) });
      shards.push(...(s.Shards || []));
      start = s.LastEvaluatedShardId;
    } while (start);
    return shards;
  };

  const openIterators = async (type) => {
    for (const shard of await describeShards()) {
      if (iterators.has(shard.ShardId)) continue;
      const open = !shard.SequenceNumberRange?.EndingSequenceNumber;
      // Closed shards matter only when reading everything retained; a LATEST reader follows the open ones.
      if (!open && type === "LATEST") continue;
      if (iterators.seen?.has(shard.ShardId)) continue;
      const { ShardIterator } = await streams("GetShardIterator", { StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: type });
      iterators.set(shard.ShardId, ShardIterator);
    }
  };

  const poll = async () => {
    if (stopped || !watching) return;
    try {
      let closed = false;
      for (const [shard, iterator] of [...iterators]) {
        const answer = await streams("GetRecords", { ShardIterator: iterator, Limit: 1000 });
        for (const record of answer.Records || []) {
          count++;
          list.prepend(recordView(record));
        }
        while (list.children.length > MAX_SHOWN) list.lastChild.remove();
        if (answer.NextShardIterator) iterators.set(shard, answer.NextShardIterator);
        else {
          iterators.delete(shard);
          (iterators.seen ||= new Set()).add(shard);
          closed = true;
        }
      }
      if (closed || iterators.size === 0) await openIterators("TRIM_HORIZON");
      counter.textContent = String(count);
      clear(notice);
    } catch (e) {
      if (e.type === "ExpiredIteratorException" || e.type === "TrimmedDataAccessException") {
        iterators = new Map();
        await openIterators("LATEST").catch(() => {});
      } else clear(notice, message("error", `${e.type}: ${e.message}`, "stream-error"));
    }
    if (!stopped && watching) timer = setTimeout(poll, 1000);
  };

  const start = async () => {
    try {
      iterators = new Map();
      await openIterators(position.value);
      watching = true;
      state.textContent = "watching";
      button.textContent = "Stop";
      poll();
    } catch (e) {
      clear(notice, message("error", `${e.type}: ${e.message}`, "stream-error"));
    }
  };
  const stop = () => {
    watching = false;
    clearTimeout(timer);
    state.textContent = "stopped";
    button.textContent = "Watch";
  };
  button.addEventListener("click", () => (watching ? stop() : start()));

  const enable = async () => {
    try {
      await call("UpdateTable", { TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" } });
      load();
    } catch (e) {
      clear(notice, message("error", `${e.type}: ${e.message}`));
    }
  };

  const load = async () => {
    try {
      const { Table: t } = await call("DescribeTable", { TableName: name });
      if (stopped) return;
      if (!t.StreamSpecification?.StreamEnabled || !t.LatestStreamArn) {
        clear(head, el("p", {}, "This table has no stream. "),
          el("button", { onclick: enable, testid: "enable-stream" }, "Enable stream (new and old images)"));
        button.disabled = true;
        return;
      }
      arn = t.LatestStreamArn;
      button.disabled = false;
      clear(head, el("p", {}, "Stream ", el("code", {}, arn), ` (${t.StreamSpecification.StreamViewType}), read with DescribeStream, GetShardIterator and GetRecords.`));
    } catch (e) {
      clear(notice, message("error", `${e.type}: ${e.message}`));
    }
  };

  clear(root, el("section", { class: "card" }, head,
    el("div", { class: "row" }, position, button, el("span", {}, "State: ", state), el("span", {}, "Records: ", counter)),
    notice, list));
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
