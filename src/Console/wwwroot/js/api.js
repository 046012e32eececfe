// The console's only way to the server: the same DynamoDB and DynamoDB Streams API every client calls
// (POST / with X-Amz-Target, JSON 1.0), and the local host's GET /admin routes, all signed with SigV4.

import { signRequest } from "./sigv4.js";

const STORAGE_KEY = "serverless-console-credentials";

/** Used when the user has entered no key: a server in AcceptAny mode takes any signature. */
const PLACEHOLDER = { accessKeyId: "console", secretAccessKey: "console", sessionToken: "", region: "us-east-1" };

export function savedCredentials() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return saved && saved.accessKeyId ? saved : null;
  } catch {
    return null;
  }
}

export function saveCredentials(credentials) {
  if (credentials && credentials.accessKeyId) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  else sessionStorage.removeItem(STORAGE_KEY);
}

export function activeCredentials() {
  const saved = savedCredentials();
  return saved ? { ...PLACEHOLDER, ...saved, region: saved.region || PLACEHOLDER.region } : PLACEHOLDER;
}

/** The endpoint: this page's origin and the path above /console (the function app's route prefix). */
export function endpointBase() {
  const path = location.pathname;
  const at = path.toLowerCase().lastIndexOf("/console");
  return location.origin + (at < 0 ? "" : path.slice(0, at));
}

/** An error the API answered: AWS's type (without its namespace) and message. */
export class ApiError extends Error {
  constructor(type, message, status) {
    super(message || type);
    this.type = type;
    this.status = status;
  }

  get isAuth() {
    return ["MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException",
      "IncompleteSignatureException", "AccessDeniedException", "ExpiredTokenException", "InvalidClientTokenId"].includes(this.type);
  }
}

const listeners = new Set();

/** Called with every ApiError, so the page can ask for a key when the server refuses the signature. */
export function onApiError(listener) {
  listeners.add(listener);
}

function raise(error) {
  for (const l of listeners) l(error);
  throw error;
}

async function send(method, url, headers, body, service) {
  const signed = await signRequest({ method, url, headers, body, credentials: activeCredentials(), service });
  let response;
  try {
    response = await fetch(url, { method, headers: signed, body: method === "GET" || method === "HEAD" ? undefined : body, cache: "no-store" });
  } catch (e) {
    raise(new ApiError("NetworkError", `The server did not answer: ${e.message}`, 0));
  }

  const text = await response.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }

  if (!response.ok) {
    const type = String((json && (json.__type || json.code)) || `HTTP ${response.status}`).split("#").pop();
    raise(new ApiError(type, (json && (json.message || json.Message)) || text || response.statusText, response.status));
  }

  return json;
}

/** Calls a DynamoDB operation, e.g. call("ListTables", {}). */
export function call(operation, request = {}) {
  return send("POST", endpointBase() + "/", {
    "content-type": "application/x-amz-json-1.0",
    "x-amz-target": "DynamoDB_20120810." + operation,
  }, JSON.stringify(request), "dynamodb");
}

/** Calls a DynamoDB Streams operation (same endpoint, its own target prefix, signing name dynamodb). */
export function streams(operation, request = {}) {
  return send("POST", endpointBase() + "/", {
    "content-type": "application/x-amz-json-1.0",
    "x-amz-target": "DynamoDBStreams_20120810." + operation,
  }, JSON.stringify(request), "dynamodb");
}

/** GET of a local-host admin route (/admin/metrics, /admin/triggers), signed like every call. */
export function admin(path) {
  return send("GET", endpointBase() + path, {}, "", "dynamodb");
}
