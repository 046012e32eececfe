// Line charts drawn as inline SVG: no chart library.

import { svg, el } from "./dom.js";

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function format(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(2).replace(/\.?0+$/, "");
  return value.toPrecision(2);
}

/**
 * A chart of one series: points is [{t: epoch ms, v: number}], oldest first.
 * The x axis spans the history, at least 30 s and at most windowMs.
 */
export function lineChart({ title, unit = "", points, windowMs: longest = 120000, testid }) {
  const width = 360;
  const height = 140;
  const left = 44;
  const right = 8;
  const top = 10;
  const bottom = 22;
  const now = points.length ? points[points.length - 1].t : Date.now();
  // A young history fills the chart: the window grows with it from 30 s up to the longest.
  const windowMs = Math.min(longest, Math.max(30000, points.length ? now - points[0].t : 0));
  const from = now - windowMs;
  const visible = points.filter((p) => p.t >= from);
  const max = niceMax(Math.max(0, ...visible.map((p) => p.v)));
  const x = (t) => left + ((t - from) / windowMs) * (width - left - right);
  const y = (v) => top + (1 - v / max) * (height - top - bottom);

  const grid = [0, 0.5, 1].map((f) => [
    svg("line", { x1: left, x2: width - right, y1: y(max * f), y2: y(max * f), class: "grid" }),
    svg("text", { x: left - 4, y: y(max * f) + 4, "text-anchor": "end", class: "axis" }, format(max * f)),
  ]);
  const labels = [
    svg("text", { x: left, y: height - 6, class: "axis" }, `-${Math.round(windowMs / 1000)}s`),
    svg("text", { x: width - right, y: height - 6, "text-anchor": "end", class: "axis" }, "now"),
  ];
  const line = visible.length > 1
    ? svg("polyline", { points: visible.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "), class: "series" })
    : null;
  const dots = visible.length === 1 ? svg("circle", { cx: x(visible[0].t), cy: y(visible[0].v), r: 2.5, class: "dot" }) : null;
  const last = visible.length ? visible[visible.length - 1].v : null;

  return el("figure", { class: "chart", testid },
    el("figcaption", {}, el("span", {}, title), el("b", { class: "chart-value" }, format(last) + (unit ? " " + unit : ""))),
    svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title }, grid, labels, line, dots));
}
