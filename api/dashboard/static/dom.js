// Small DOM and formatting helpers shared by the dashboard's modules.
export const $ = (id) => document.getElementById(id);
export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) {
      node.append(c instanceof Node ? c : String(c));
    }
  }
  return node;
};
export const svg = (tag, attrs = {}, text = null) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
};
export const titled = (node, text) => { node.append(svg("title", {}, text)); return node; };
export const range = (k) => (k && k.low !== null && k.low !== undefined && k.high !== null &&
  k.high !== undefined && k.low !== k.high ? `${k.low}–${k.high}` : "");
export const shown = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));
export const number = (n) => Number(n).toLocaleString("en");
export const plural = (n, one, many) => `${number(n)} ${n === 1 ? one : many}`;

// Where an incident happened, whichever shape its location has (the list's nested
// `location`, or an export's flat `location` and `country`).
export const where = (i) => {
  const loc = i.location;
  if (loc && typeof loc === "object") return [loc.name, loc.country].filter(Boolean).join(", ");
  return [i.location, i.country].filter(Boolean).join(", ");
};
