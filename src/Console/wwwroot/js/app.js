// The console's shell: navigation by URL hash, the credentials form, and one page at a time (each page returns
// a function that stops its timers when the user leaves it).

import { ApiError, onApiError, savedCredentials, saveCredentials, endpointBase, call } from "./api.js";
import { el, clear, field, message } from "./dom.js";
import { tablesPage } from "./tables.js";
import { tablePage } from "./table.js";
import { metricsPage, triggersPage } from "./observe.js";

const main = document.getElementById("main");
const status = document.getElementById("auth-status");
let leave = null;

function describeAuth() {
  const saved = savedCredentials();
  clear(status, saved ? `Signing as ${saved.accessKeyId} (${saved.region || "us-east-1"})` : "No key entered: signing with a placeholder key");
}

function settingsPage(root, notice) {
  const saved = savedCredentials() || { accessKeyId: "", secretAccessKey: "", sessionToken: "", region: "us-east-1" };
  const id = el("input", { name: "accessKeyId", value: saved.accessKeyId, autocomplete: "off", testid: "access-key-id" });
  const secret = el("input", { name: "secretAccessKey", type: "password", value: saved.secretAccessKey, autocomplete: "off", testid: "secret-access-key" });
  const token = el("input", { name: "sessionToken", value: saved.sessionToken || "", autocomplete: "off", testid: "session-token" });
  const region = el("input", { name: "region", value: saved.region || "us-east-1", testid: "region" });
  const result = el("div");
  const save = async (event) => {
    event.preventDefault();
    saveCredentials({ accessKeyId: id.value.trim(), secretAccessKey: secret.value, sessionToken: token.value.trim(), region: region.value.trim() || "us-east-1" });
    describeAuth();
    try {
      const tables = await call("ListTables", { Limit: 1 });
      clear(result, message("ok", `The server accepts this key (ListTables answered${tables.TableNames ? "" : " nothing"}).`, "credentials-ok"));
    } catch (e) {
      clear(result, message("error", `${e.type}: ${e.message}`, "credentials-error"));
    }
  };
  const forget = () => {
    saveCredentials(null);
    location.hash = "#/settings";
    route();
  };
  clear(root,
    el("h1", {}, "Credentials"),
    notice ? message("error", notice, "auth-notice") : null,
    el("p", {}, "The console calls ", el("code", {}, endpointBase() + "/"),
      " with the DynamoDB API, signing each request with AWS Signature Version 4 in this browser. A server that verifies signatures (keys configured) needs one of its keys here; one that accepts any credentials takes any values. The key stays in this tab's session storage."),
    el("form", { class: "form", onsubmit: save, testid: "credentials-form" },
      field("Access key id", id), field("Secret access key", secret), field("Session token (temporary keys only)", token), field("Region", region),
      el("div", { class: "buttons" }, el("button", { type: "submit", class: "primary", testid: "save-credentials" }, "Save and test"),
        el("button", { type: "button", onclick: forget }, "Forget key"))),
    result);
  return null;
}

let authNotice = null;
onApiError((error) => {
  if (error instanceof ApiError && error.isAuth && error.type !== "AccessDeniedException") {
    authNotice = `The server refused the request: ${error.type}: ${error.message}. Enter one of its keys.`;
    if (!location.hash.startsWith("#/settings")) location.hash = "#/settings";
  }
});

export function route() {
  if (leave) leave();
  leave = null;
  const parts = (location.hash.replace(/^#\/?/, "") || "tables").split("/").map(decodeURIComponent);
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.getAttribute("href") === "#/" + parts[0]);
  const root = clear(main);
  switch (parts[0]) {
    case "settings":
      leave = settingsPage(root, authNotice);
      authNotice = null;
      break;
    case "metrics":
      leave = metricsPage(root);
      break;
    case "triggers":
      leave = triggersPage(root);
      break;
    case "tables":
      leave = parts[1] ? tablePage(root, parts[1], parts[2] || "overview") : tablesPage(root);
      break;
    default:
      location.hash = "#/tables";
  }
}

window.addEventListener("hashchange", route);
describeAuth();
route();
