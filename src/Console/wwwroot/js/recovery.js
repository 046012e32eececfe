// Point-in-time recovery as a timeline (DescribeContinuousBackups' EarliestRestorableDateTime to
// LatestRestorableDateTime), "restore to this second" (RestoreTableToPointInTime), on-demand backups
// (CreateBackup, ListBackups, RestoreTableFromBackup, DeleteBackup), and the progress of a restore as
// DescribeTable of the new table shows it (TableStatus, RestoreSummary.RestoreInProgress).

import { call } from "./api.js";
import { el, clear, svg, field, message, formatTime } from "./dom.js";

function stamp() {
  return new Date().toISOString().replace(/[-:T]/g, "").slice(4, 14);
}

/** Follows a restore: DescribeTable of the target every second until it is ACTIVE and no longer restoring. */
export function restoreProgress(target) {
  const status = el("span", { testid: "restore-status" }, "starting");
  const bar = el("progress", { testid: "restore-progress" });
  const detail = el("span", { class: "hint" });
  const node = el("div", { class: "card restore", testid: "restore" },
    el("b", {}, "Restoring ", el("a", { href: `#/tables/${encodeURIComponent(target)}` }, target)), " ", bar, " ", status, " ", detail);
  const started = Date.now();
  let timer = null;
  const poll = async () => {
    if (!node.isConnected && Date.now() - started > 1000) return;
    try {
      const { Table: t } = await call("DescribeTable", { TableName: target });
      const restoring = t.RestoreSummary?.RestoreInProgress === true;
      status.textContent = t.TableStatus + (restoring ? " (restoring)" : "");
      detail.textContent = `${t.ItemCount ?? 0} items · ${((Date.now() - started) / 1000).toFixed(1)} s`;
      if (t.TableStatus === "ACTIVE" && !restoring) {
        bar.max = 1;
        bar.value = 1;
        node.classList.add("done");
        return;
      }
    } catch (e) {
      status.textContent = e.type === "ResourceNotFoundException" ? "waiting for the table" : `${e.type}: ${e.message}`;
    }
    timer = setTimeout(poll, 1000);
  };
  poll();
  node.stop = () => clearTimeout(timer);
  return node;
}

function timeline(earliest, latest, chosen, onChoose) {
  const width = 720;
  const height = 64;
  const pad = 16;
  const span = Math.max(latest - earliest, 1);
  const x = (t) => pad + ((t - earliest) / span) * (width - 2 * pad);
  const ticks = [];
  for (let i = 0; i <= 4; i++) {
    const t = Math.round(earliest + (span * i) / 4);
    ticks.push(svg("line", { x1: x(t), x2: x(t), y1: 30, y2: 38, class: "tick" }),
      svg("text", { x: x(t), y: 54, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle", class: "axis" }, formatTime(t).slice(11, 19)));
  }
  const bar = svg("rect", { x: pad, y: 18, width: width - 2 * pad, height: 12, rx: 3, class: "window", testid: "pitr-window" });
  const marker = svg("line", { x1: x(chosen), x2: x(chosen), y1: 10, y2: 38, class: "marker", testid: "pitr-marker" });
  const node = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "timeline", role: "img", "aria-label": "restorable window" }, bar, ticks, marker);
  node.addEventListener("click", (event) => {
    const box = node.getBoundingClientRect();
    const fraction = Math.min(Math.max(((event.clientX - box.left) / box.width * width - pad) / (width - 2 * pad), 0), 1);
    onChoose(Math.round(earliest + fraction * span));
  });
  return node;
}

export function recoveryTab(root, name) {
  let stopped = false;
  let timer = null;
  let chosen = null;
  let follow = true; // the marker follows the latest restorable second until the user picks one
  const body = el("section", { class: "card", testid: "pitr" });
  const progress = el("div");
  const notice = el("div");
  const target = el("input", { value: `${name}-restored-${stamp()}`, testid: "restore-target" });
  const slider = el("input", { type: "range", step: 1, testid: "pitr-slider" });
  const chosenText = el("b", { testid: "pitr-chosen" });
  const graph = el("div");
  let restorable = null;

  const draw = () => {
    if (!restorable) return;
    const [earliest, latest] = restorable;
    if (follow || chosen === null) chosen = latest;
    chosen = Math.min(Math.max(chosen, earliest), latest);
    slider.min = earliest;
    slider.max = latest;
    slider.value = chosen;
    chosenText.textContent = formatTime(chosen);
    clear(graph, timeline(earliest, latest, chosen, (t) => { follow = false; chosen = t; draw(); }));
  };
  slider.addEventListener("input", () => {
    follow = Number(slider.value) >= Number(slider.max);
    chosen = Number(slider.value);
    draw();
  });

  const restore = async () => {
    if (chosen === null) return;
    const targetName = target.value.trim();
    try {
      await call("RestoreTableToPointInTime", { SourceTableName: name, TargetTableName: targetName, RestoreDateTime: chosen });
      progress.prepend(restoreProgress(targetName));
      target.value = `${name}-restored-${stamp()}`;
    } catch (e) {
      clear(notice, message("error", `${e.type}: ${e.message}`, "restore-error"));
    }
  };

  const enable = async (on) => {
    try {
      await call("UpdateContinuousBackups", { TableName: name, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: on } });
      load();
    } catch (e) {
      clear(notice, message("error", `${e.type}: ${e.message}`, "pitr-error"));
    }
  };

  const load = async () => {
    try {
      const { ContinuousBackupsDescription: d } = await call("DescribeContinuousBackups", { TableName: name });
      if (stopped) return;
      const p = d.PointInTimeRecoveryDescription || {};
      if (p.PointInTimeRecoveryStatus !== "ENABLED") {
        restorable = null;
        clear(body, el("h2", {}, "Point-in-time recovery"), el("p", {}, "Point-in-time recovery is off for this table."),
          el("button", { class: "primary", testid: "enable-pitr", onclick: () => enable(true) }, "Enable point-in-time recovery"), notice);
      } else {
        const first = !restorable;
        restorable = [p.EarliestRestorableDateTime, p.LatestRestorableDateTime];
        if (first) {
          clear(body,
            el("h2", {}, "Point-in-time recovery"),
            el("p", {}, "Restorable from ", el("b", { testid: "pitr-earliest" }), " to ", el("b", { testid: "pitr-latest" }),
              ` (${p.RecoveryPeriodInDays} day window). Pick a second on the timeline or the slider.`),
            graph, slider,
            el("div", { class: "row" }, el("span", {}, "Restore to ", chosenText), field("as table", target),
              el("button", { class: "primary", testid: "restore-pitr", onclick: restore }, "Restore to this second"),
              el("button", { onclick: () => enable(false) }, "Disable")),
            notice);
        }
        body.querySelector("[data-testid=pitr-earliest]").textContent = formatTime(restorable[0]);
        body.querySelector("[data-testid=pitr-latest]").textContent = formatTime(restorable[1]);
        draw();
      }
    } catch (e) {
      clear(body, message("error", `${e.type}: ${e.message}`, "pitr-error"));
    }
    if (!stopped) timer = setTimeout(load, 2000);
  };

  clear(root, body, progress);
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const p of progress.children) p.stop?.();
  };
}

export function backupsTab(root, name) {
  let stopped = false;
  const list = el("tbody");
  const notice = el("div");
  const progress = el("div");
  const backupName = el("input", { value: `${name}-${stamp()}`, testid: "backup-name" });

  const load = async () => {
    try {
      const summaries = [];
      let start;
      do {
        const page = await call("ListBackups", { TableName: name, ...(start ? { ExclusiveStartBackupArn: start } : {}) });
        summaries.push(...(page.BackupSummaries || []));
        start = page.LastEvaluatedBackupArn;
      } while (start);
      if (stopped) return;
      clear(list, summaries.length ? null : el("tr", {}, el("td", { colspan: 6, class: "hint" }, "No backups of this table.")));
      for (const b of summaries) {
        const target = el("input", { value: `${name}-from-${b.BackupName}`.slice(0, 255), testid: "backup-restore-target" });
        list.append(el("tr", { testid: "backup-row", "data-backup": b.BackupName },
          el("td", {}, b.BackupName), el("td", {}, b.BackupType), el("td", {}, b.BackupStatus),
          el("td", {}, formatTime(b.BackupCreationDateTime)), el("td", {}, String(b.BackupSizeBytes ?? "")),
          el("td", {}, target,
            el("button", { testid: "restore-backup", onclick: async () => {
              try {
                await call("RestoreTableFromBackup", { BackupArn: b.BackupArn, TargetTableName: target.value.trim() });
                progress.prepend(restoreProgress(target.value.trim()));
              } catch (e) {
                clear(notice, message("error", `${e.type}: ${e.message}`, "backup-error"));
              }
            } }, "Restore"),
            el("button", { class: "danger", onclick: async () => {
              if (!confirm(`Delete backup ${b.BackupName}?`)) return;
              try {
                await call("DeleteBackup", { BackupArn: b.BackupArn });
                load();
              } catch (e) {
                clear(notice, message("error", `${e.type}: ${e.message}`));
              }
            } }, "Delete"))));
      }
    } catch (e) {
      clear(notice, message("error", `${e.type}: ${e.message}`, "backup-error"));
    }
  };

  const create = async (event) => {
    event.preventDefault();
    try {
      await call("CreateBackup", { TableName: name, BackupName: backupName.value.trim() });
      backupName.value = `${name}-${stamp()}`;
      load();
    } catch (e) {
      clear(notice, message("error", `${e.type}: ${e.message}`, "backup-error"));
    }
  };

  clear(root,
    el("form", { class: "card row", onsubmit: create }, field("Backup name", backupName), el("button", { type: "submit", class: "primary", testid: "create-backup" }, "Create backup")),
    notice,
    el("table", { class: "grid", testid: "backups" },
      el("thead", {}, el("tr", {}, ["Name", "Type", "Status", "Created", "Bytes", "Restore as"].map((h) => el("th", {}, h)))), list),
    progress);
  load();
  return () => {
    stopped = true;
    for (const p of progress.children) p.stop?.();
  };
}
