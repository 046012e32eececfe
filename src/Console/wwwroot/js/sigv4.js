// AWS Signature Version 4 with WebCrypto (crypto.subtle), as every AWS SDK signs a request: canonical request,
// string to sign, a signing key derived from the secret for date/region/service, and an Authorization header.
// crypto.subtle exists only in secure contexts: https, or http on 127.0.0.1/localhost.

const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytes(data) {
  return typeof data === "string" ? encoder.encode(data) : data;
}

export async function sha256Hex(data) {
  return hex(await crypto.subtle.digest("SHA-256", bytes(data)));
}

async function hmac(key, data) {
  const k = await crypto.subtle.importKey("raw", bytes(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, bytes(data)));
}

// RFC 3986 encoding, as SigV4 wants for query names and values.
function encodeRfc3986(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalQuery(searchParams) {
  const pairs = [];
  for (const [name, value] of searchParams) pairs.push([encodeRfc3986(name), encodeRfc3986(value)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map((p) => p[0] + "=" + p[1]).join("&");
}

/** "20150830T123600Z" for a Date. */
export function amzDate(date) {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * Signs a request. Returns the headers to send (without Host, which the browser sets to url's host itself):
 * the given ones plus X-Amz-Date, X-Amz-Security-Token when there is a session token, and Authorization.
 */
export async function signRequest({ method, url, headers = {}, body = "", credentials, service, now = new Date() }) {
  const u = new URL(url);
  const stamp = amzDate(now);
  const day = stamp.slice(0, 8);
  const all = {};
  for (const [name, value] of Object.entries(headers)) all[name.toLowerCase()] = String(value);
  all["host"] = u.host;
  all["x-amz-date"] = stamp;
  if (credentials.sessionToken) all["x-amz-security-token"] = credentials.sessionToken;

  const names = Object.keys(all).sort();
  const canonicalHeaders = names.map((n) => n + ":" + all[n].trim().replace(/\s+/g, " ") + "\n").join("");
  const signedHeaders = names.join(";");
  const canonical = [method, u.pathname || "/", canonicalQuery(u.searchParams), canonicalHeaders, signedHeaders, await sha256Hex(body)].join("\n");
  const scope = `${day}/${credentials.region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, await sha256Hex(canonical)].join("\n");

  let key = await hmac("AWS4" + credentials.secretAccessKey, day);
  key = await hmac(key, credentials.region);
  key = await hmac(key, service);
  key = await hmac(key, "aws4_request");
  const signature = hex(await hmac(key, stringToSign));

  delete all["host"];
  all["authorization"] = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return all;
}
