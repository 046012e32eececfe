// DynamoDB JSON ({"S": "x"}) to and from plain JSON, for the item editor's two views.

/** Plain JSON value to a DynamoDB attribute value. */
export function marshall(value) {
  if (value === null || value === undefined) return { NULL: true };
  if (typeof value === "string") return { S: value };
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`${value} is not a number DynamoDB can store`);
    return { N: String(value) };
  }
  if (typeof value === "boolean") return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(marshall) };
  if (typeof value === "object") return { M: marshallItem(value) };
  throw new Error(`Cannot store ${typeof value}`);
}

export function marshallItem(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) throw new Error("An item is a JSON object");
  const item = {};
  for (const [name, value] of Object.entries(object)) item[name] = marshall(value);
  return item;
}

function number(text) {
  const n = Number(text);
  return String(n) === text ? n : text;
}

/** A DynamoDB attribute value to plain JSON; sets become arrays and binary its base64 text. */
export function unmarshall(av) {
  const [type, v] = Object.entries(av)[0] || [];
  switch (type) {
    case "S":
    case "B":
      return v;
    case "N":
      return number(v);
    case "BOOL":
      return v;
    case "NULL":
      return null;
    case "SS":
    case "BS":
      return [...v];
    case "NS":
      return v.map(number);
    case "L":
      return v.map(unmarshall);
    case "M":
      return unmarshallItem(v);
    default:
      return v;
  }
}

export function unmarshallItem(item) {
  const object = {};
  for (const [name, av] of Object.entries(item || {})) object[name] = unmarshall(av);
  return object;
}

/** Whether plain JSON would lose something of this item (sets, binary, numbers beyond a double). */
export function plainLosesTypes(item) {
  const walk = (av) => {
    const [type, v] = Object.entries(av)[0] || [];
    if (type === "SS" || type === "NS" || type === "BS" || type === "B") return true;
    if (type === "N") return String(Number(v)) !== v;
    if (type === "L") return v.some(walk);
    if (type === "M") return Object.values(v).some(walk);
    return false;
  };
  return Object.values(item || {}).some(walk);
}

/** A short text for a table cell. */
export function preview(av) {
  if (!av) return "";
  const [type, v] = Object.entries(av)[0] || [];
  switch (type) {
    case "S":
    case "N":
    case "B":
      return String(v);
    case "BOOL":
      return String(v);
    case "NULL":
      return "null";
    case "SS":
    case "NS":
    case "BS":
      return `{${v.join(", ")}}`;
    default:
      return JSON.stringify(unmarshall(av));
  }
}
