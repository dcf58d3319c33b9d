// The dashboard: reads only the public JSON API (/api/v1/...), renders with the DOM and SVG,
// and follows /api/v1/stream. No third-party code; nothing is loaded from another host.
// The first view comes rendered from the server with its JSON embedded (#initial): the
// script starts from it and fetches only what it does not hold.
import { monthChart } from "./chart.js";
import { $, el, number, plural, range, shown, where } from "./dom.js";
import { drawMap, loadOutlines } from "./map.js";

const API = "/api/v1";
const body = document.body;
// The API's filters: each lives in the URL's query string under the same name.
const FILTERS = ["country", "admin1", "type", "subtype", "actor", "operation", "source",
  "from", "to", "min_killed", "bbox", "admin2", "interaction", "disorder_type",
  "civilian_targeting", "type_of_violence", "dyad", "conflict_name", "figures_from"];
// The filters with a control of their own in the form; the others show as chips.
const CONTROLLED = ["country", "type", "actor", "source", "from", "to", "min_killed"];
const PAGE_SIZE = 50;
const MAX_POINTS = 2000;  // more matching incidents than this: the map draws grid bins
const SHORT_TABLE = 12;   // rows a long tally shows until asked for all
const expanded = new Set();  // the tallies shown whole
const state = {
  asOf: "",            // "" = now (live)
  filters: {},         // name -> value, as in the URL
  group: "jnim",
  first: null,         // when the log began (ms), for the slider
  position: null,      // the views' position last rendered
  cursors: [null],     // the incident pages seen: the cursor that starts each
  pageIndex: 0,
  count: null,         // how many incidents match
  generation: 0,       // each render's number: a slower, older answer is dropped
};

const detailBox = $("incident-detail");  // moved beside the row it shows

// -- the URL: filters, as_of and group -------------------------------------------------------

function readUrl() {
  const params = new URLSearchParams(location.search);
  state.asOf = (params.get("as_of") || "").trim();
  state.group = (params.get("group") || "").trim() || "jnim";
  state.filters = {};
  for (const name of FILTERS) {
    const value = (params.get(name) || "").trim();
    if (value) state.filters[name] = value;
  }
}

// The query every view and export of the page is read with: the filters and as_of.
function viewQuery(extra = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(extra)) if (v !== "" && v !== null) query.set(k, v);
  for (const [k, v] of Object.entries(state.filters)) query.set(k, v);
  if (state.asOf) query.set("as_of", state.asOf);
  return query;
}

function writeUrl(push) {
  const query = new URLSearchParams();
  for (const name of FILTERS) if (state.filters[name]) query.set(name, state.filters[name]);
  if (state.asOf) query.set("as_of", state.asOf);
  if (state.group !== "jnim") query.set("group", state.group);
  const url = `${location.pathname}${query.size ? "?" + query : ""}`;
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

// -- the API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(problem, status) {
    super(problem.message || `HTTP ${status}`);
    this.status = status;
    this.errors = problem.errors || [];
  }
}

async function api(path, params = {}, options = {}) {
  const query = options.unfiltered ? new URLSearchParams() : viewQuery();
  for (const [k, v] of Object.entries(params)) {
    if (v === "" || v === null) query.delete(k);
    else query.set(k, v);
  }
  if (state.asOf && !("as_of" in params)) query.set("as_of", state.asOf);
  const response = await fetch(`${API}${path}${query.size ? "?" + query : ""}`);
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new ApiError(problem, response.status);
  }
  return response.json();
}

// What went wrong, once each, above everything: the API's own message names the bad value.
const problems = new Set();
function problem(error) {
  const message = error instanceof Error ? error.message : String(error);
  if (problems.has(message)) return;
  problems.add(message);
  const box = $("problem");
  box.replaceChildren(...[...problems].map((m) => el("p", {}, m)));
  box.hidden = false;
}
function clearProblems() {
  problems.clear();
  $("problem").replaceChildren();
  $("problem").hidden = true;
}

// -- casualties ------------------------------------------------------------------------------

function tallyTable(table, data, label, pick) {
  table.replaceChildren(el("tr", {}, el("th", { scope: "col" }, label),
    el("th", { scope: "col", class: "num" }, "killed"),
    el("th", { scope: "col", class: "num" }, "range"),
    el("th", { scope: "col", class: "num" }, "civilians"),
    el("th", { scope: "col", class: "num" }, "incidents")));
  if (data instanceof Error) {
    table.append(el("tr", {}, el("td", { colspan: 5, class: "muted empty" },
      `Not shown: ${data.message}`)));
    return;
  }
  if (!data.rows.length) {
    table.append(el("tr", {}, el("td", { colspan: 5, class: "muted empty" },
      state.asOf ? "No casualties known at that time." : "No casualties recorded.")));
    return;
  }
  // Region rows name their country when they come from several.
  const countries = new Set(data.rows.map((r) => r.country).filter(Boolean));
  // Long tables show their first rows, and a button for the rest.
  const all = expanded.has(table.id) || data.rows.length <= SHORT_TABLE + 2;
  for (const r of all ? data.rows : data.rows.slice(0, SHORT_TABLE)) {
    const name = r.name || r.key;
    const label = el("a", { href: "#", title: `only ${name}`, onclick: (e) => {
      e.preventDefault(); pick(r); } }, name);
    table.append(el("tr", { "data-key": r.key },
      el("td", {}, label, countries.size > 1 && r.country ? [" ", el("small", {}, r.country)]
        : null),
      el("td", { class: "num best" }, r.killed.best),
      el("td", { class: "num muted" }, range(r.killed)),
      el("td", { class: "num", title: r.civilians && r.civilians.reported_by != null ?
        `given for ${r.civilians.reported_by} of ${r.incidents} incidents` : null },
        r.civilians && r.civilians.best !== null && r.civilians.best !== undefined ?
          r.civilians.best : "—"),
      el("td", { class: "num" }, r.incidents)));
  }
  if (!all) {
    table.append(el("tr", { class: "rest" }, el("td", { colspan: 5 }, el("button", {
      type: "button", onclick: () => { expanded.add(table.id); tallyTable(table, data, label, pick); },
    }, `Show all ${number(data.rows.length)} rows`))));
  }
}

// How many incidents a tally's filters match: its total's count if it gives one, else its
// rows' (each incident is counted in exactly one admin1 row).
function incidentCount(tally) {
  if (tally.total && Number.isInteger(tally.total.incidents)) return tally.total.incidents;
  return tally.rows.reduce((sum, r) => sum + r.incidents, 0);
}


async function renderCasualties(generation, initial) {
  const pickCountry = (r) => setFilters({ country: r.key, admin1: "" });
  const pickRegion = (r) => setFilters({ admin1: r.admin1 || r.name || r.key,
    ...(r.country ? { country: r.country } : {}) });
  let byCountry, byAdmin1, byMonth;
  if (initial) {
    ({ by_country: byCountry, by_admin1: byAdmin1, by_month: byMonth } = initial);
  } else {
    const [a, b, c] = await Promise.allSettled([
      api("/casualties", { by: "country", country: "" }),
      api("/casualties", { by: "admin1" }), api("/casualties", { by: "month" })]);
    if (generation !== state.generation) return null;
    [byCountry, byAdmin1, byMonth] = [a, b, c].map((r) =>
      r.status === "fulfilled" ? r.value : (problem(r.reason), r.reason));
  }
  tallyTable($("by-country"), byCountry, "country", pickCountry);
  tallyTable($("by-admin1"), byAdmin1, "admin1", pickRegion);
  monthChart($("by-month"), byMonth);
  countryOptions(byCountry);
  if (initial) return initial.count ?? null;  // counted on the server, as listedCount does
  return byAdmin1 instanceof Error ? null : listedCount(byAdmin1);
}

// How many incidents the list shows. With figures_from the list shows every incident its
// source reported on (as source= selects them) while its tally counts those it gave a
// figure for, so the count is read without figures_from; no count when source names
// another source (no tally counts what both reported on).
async function listedCount(byAdmin1) {
  const { figures_from: from, source } = state.filters;
  if (!from) return incidentCount(byAdmin1);
  if (source && source.toLowerCase() !== from.toLowerCase()) return null;
  try {
    return incidentCount(await api("/casualties", { by: "admin1", figures_from: "",
      source: from }));
  } catch (error) {
    return null;
  }
}

// -- the filter controls ---------------------------------------------------------------------

function countryOptions(byCountry) {
  const select = $("country");
  const wanted = state.filters.country || "";
  const names = byCountry instanceof Error ? [] : byCountry.rows.map((r) => r.key);
  if (wanted && !names.some((n) => n.toLowerCase() === wanted.toLowerCase())) names.push(wanted);
  select.replaceChildren(el("option", { value: "" }, "All"),
    ...names.map((n) => el("option", { value: n }, n)));
  select.value = names.find((n) => n.toLowerCase() === wanted.toLowerCase()) || "";
}

function syncForm() {
  const type = $("type");
  const wantedType = state.filters.type || "";
  if (wantedType && ![...type.options].some((o) => o.value === wantedType)) {
    type.append(el("option", { value: wantedType }, wantedType));  // a dataset's label
  }
  type.value = wantedType;
  for (const name of ["actor", "source", "from", "to", "min_killed"]) {
    $(name).value = state.filters[name] || "";
  }
  $("as-of-field").value = state.asOf;
  // The API's other filters (admin1, subtype, operation, bbox): a chip each, removable.
  $("more-filters").replaceChildren(...FILTERS.filter((n) => !CONTROLLED.includes(n) &&
    state.filters[n]).map((n) => el("span", { class: "chip", "data-filter": n },
    `${n}: ${state.filters[n]} `, el("button", { type: "button", "aria-label": `remove ${n}`,
      onclick: () => setFilters({ [n]: "" }) }, "×"))));
}

function formFilters() {
  const out = { ...state.filters };
  for (const name of CONTROLLED) out[name] = $(name).value.trim();
  return out;
}

// Sets filters (a value "" removes one), records the view in the history, and renders.
function setFilters(changes) {
  const next = { ...state.filters, ...changes };
  for (const k of Object.keys(next)) if (!next[k]) delete next[k];
  state.filters = next;
  writeUrl(true);
  syncForm();
  refresh();
}

function exportLinks() {
  const query = viewQuery();
  const suffix = query.size ? "?" + query : "";
  $("export-csv").href = `${API}/incidents.csv${suffix}`;
  $("export-geojson").href = `${API}/incidents.geojson${suffix}`;
  $("export-casualties").href = `${API}/casualties.csv?${viewQuery({ by: "admin1" })}`;
}

let actorLookup = null;
function suggestActors() {
  clearTimeout(actorLookup);
  actorLookup = setTimeout(async () => {
    const text = $("actor").value.trim();
    try {
      const found = await api("/actors", { q: text, limit: 20 }, { unfiltered: true });
      $("actor-names").replaceChildren(...found.actors.map((a) =>
        el("option", { value: a.name }, a.id !== a.name ? a.id : null)));
    } catch (error) { /* suggestions are a help; the filter itself reports errors */ }
  }, 250);
}

async function sourceOptions() {
  try {
    const found = await api("/sources", {}, { unfiltered: true });
    $("source-names").replaceChildren(...found.sources.map((s) => el("option", { value: s.name })));
  } catch (error) { /* as for actors */ }
}

// -- incidents: count, table, pages, detail --------------------------------------------------


function incidentTable(page) {
  const table = $("incidents");
  detailBox.hidden = true;
  $("map-section").append(detailBox);
  table.replaceChildren(el("tr", {}, el("th", { scope: "col" }, "date"),
    el("th", { scope: "col" }, "where"), el("th", { scope: "col" }, "type"),
    el("th", { scope: "col", class: "num" }, "killed"), el("th", { scope: "col" }, "best from")));
  if (page instanceof Error) {
    table.append(el("tr", {}, el("td", { colspan: 5, class: "muted empty" },
      `Not shown: ${page.message}`)));
    return;
  }
  if (!page.incidents.length) {
    table.append(el("tr", {}, el("td", { colspan: 5, class: "muted empty" },
      "No incident matches.")));
  }
  for (const i of page.incidents) {
    const basis = i.killed.basis;
    table.append(el("tr", { "data-id": i.id },
      el("td", {}, i.date || ""),
      el("td", {}, el("a", { href: `#${i.id}`, onclick: (e) => { e.preventDefault();
        showIncident(i.id); } }, where(i) || i.id)),
      el("td", {}, i.type || ""),
      el("td", { class: "num" }, shown(i.killed.best), " ", el("small", {}, range(i.killed))),
      el("td", { class: "muted" }, basis ? `${basis.source || "analysts"} (${basis.rule})` : "")));
  }
}

function countLabel() {
  $("incident-count").textContent = state.count === null ? "" :
    `${plural(state.count, "incident matches", "incidents match")}`;
}

function pager(page) {
  const shownRows = page instanceof Error ? 0 : page.incidents.length;
  const start = state.pageIndex * PAGE_SIZE;
  $("page-label").textContent = shownRows ? `${number(start + 1)}–${number(start + shownRows)}` +
    (state.count !== null ? ` of ${number(state.count)}` : "") : "";
  $("previous").disabled = state.pageIndex === 0;
  const more = !(page instanceof Error) && page.next;
  $("next").disabled = !more;
  if (more) state.cursors[state.pageIndex + 1] = page.next;
}

async function turnPage(index) {
  const generation = state.generation;
  try {
    const page = await api("/incidents", { limit: PAGE_SIZE, cursor: state.cursors[index] });
    if (generation !== state.generation) return;
    state.pageIndex = index;
    state.cursors.length = index + 1;
    incidentTable(page);
    pager(page);
  } catch (error) {
    problem(error);
  }
}

function placeDetail(id) {
  // Beside its row when the row is on this page; else under the map.
  const box = detailBox;
  document.querySelectorAll("#incidents tr.detail-row").forEach((r) => r.remove());
  const row = [...document.querySelectorAll("#incidents tr[data-id]")]
    .find((r) => r.dataset.id === id);
  if (row) {
    row.after(el("tr", { class: "detail-row" }, el("td", { colspan: 5 }, box)));
  } else {
    $("map-note").after(box);
  }
  return box;
}

async function showIncident(id) {
  const box = placeDetail(id);
  try {
    const i = await api(`/incidents/${encodeURIComponent(id)}`, {}, { unfiltered: true });
    const basis = i.killed.basis || {};
    const loc = i.location && typeof i.location === "object" ? i.location : {};
    box.replaceChildren(...[
      el("button", { type: "button", class: "close", "aria-label": "close", onclick: () => {
        box.hidden = true; } }, "×"),
      el("h3", {}, [loc.name, loc.admin1, loc.country].filter(Boolean).join(", ") || i.id,
        ` — ${shown(i.date)}`, i.type ? ` (${i.type}${i.subtype ? ", " + i.subtype : ""})` : ""),
      el("p", {}, `Killed: ${shown(i.killed.best)}`, i.killed.low !== i.killed.high ?
        ` (range ${i.killed.low}–${i.killed.high})` : "", i.killed.flagged ?
        el("span", { class: "flag" }, ` — ${i.killed.flagged}`) : null,
      i.civilians && i.civilians.best != null ? `; civilians ${i.civilians.best}` : null,
      i.wounded && i.wounded.best != null ? `; wounded ${i.wounded.best}` : null),
      el("p", { class: "muted" }, i.killed.basis ? `Best from: ${shown(basis.rule)}, report ` +
        `${shown(basis.report)}, ${basis.source || "analysts"}, published ` +
        `${shown(basis.published)}` : "No source gives a figure."),
      i.notes ? el("p", { class: "notes" }, i.notes) : null,
      i.details_withdrawn ? el("p", { class: "withdrawn" },
        `Details come from a withdrawn report (${i.details_withdrawn}).`) : null,
      i.members && i.members.length > 1 ? el("p", { class: "muted" },
        `One event, ${i.members.length} records counted once: ${i.members.join(", ")}`) : null,
      i.figures && i.figures.length ? el("table", {}, el("tr", {}, el("th", { scope: "col" }, "source"),
        el("th", { scope: "col" }, "report"), el("th", { scope: "col" }, "published"),
        el("th", { scope: "col", class: "num" }, "killed")),
      i.figures.map((f) => el("tr", {},
        el("td", {}, shown(f.source) + (f.actor ? ` (${f.actor})` : "")),
        el("td", {}, shown(f.report)), el("td", {}, shown(f.published)),
        el("td", { class: "num" }, shown(f.killed), " ", el("small", {},
          f.low != null || f.high != null ? `${f.low ?? "?"}–${f.high ?? "?"}` : ""))))) : null,
      el("p", {}, el("a", { href: `${API}/history/incident/${encodeURIComponent(id)}` },
        "history (every event, with provenance)"))].filter(Boolean));
  } catch (error) {
    box.replaceChildren(el("p", { class: "muted" }, `Not known at that time (${error.message}).`));
  }
  box.hidden = false;
  box.dataset.id = id;
  box.scrollIntoView({ block: "nearest" });
  box.focus({ preventScroll: true });
}

function showMap(features, error) {
  $("map-note").textContent = drawMap($("map"), features, { total: features.length, error,
    maxPoints: MAX_POINTS, onIncident: showIncident,
    onArea: (bbox) => setFilters({ bbox }) });
}

async function renderMap(generation) {
  await loadOutlines();
  let features = [], error = null;
  try {
    const response = await fetch(`${API}/incidents.geojson?${viewQuery()}`);
    if (!response.ok) {
      throw new ApiError(await response.json().catch(() => ({})), response.status);
    }
    features = (await response.json()).features;
  } catch (e) {
    error = e;
  }
  if (generation !== state.generation) return;
  showMap(features, error);
}

// -- leadership, operations, changes ---------------------------------------------------------

async function renderLeadership() {
  const box = $("leaders");
  try {
    const g = await api(`/groups/${encodeURIComponent(state.group)}/leadership`, {},
      { unfiltered: true });
    box.replaceChildren(el("h3", {}, g.name),
      el("ul", { class: "current" }, g.leaders.map((l) => el("li", {},
        el("strong", {}, l.name), ` — ${l.role}`, l.since ? ` since ${l.since}` : ""))),
      g.former.length ? el("h3", {}, "Former") : null,
      el("ul", { class: "former" }, g.former.map((l) => el("li", {}, `${l.name} — ${l.role}`,
        l.until ? ` until ${l.until}` : "", ` (${l.reason}`, l.incident ?
          el("span", {}, ", ", el("a", { href: `#${l.incident}`, onclick: (e) => {
            e.preventDefault(); showIncident(l.incident); } }, l.incident)) : null, ")"))));
  } catch (error) {
    box.replaceChildren(el("p", { class: "muted" }, error.status === 404 ?
      `No group '${state.group}' known (${error.message}).` : `Not shown: ${error.message}`));
  }
}

async function renderOperations() {
  const table = $("operations");
  try {
    const data = await api("/operations", {}, { unfiltered: true });
    table.replaceChildren(el("tr", {}, el("th", { scope: "col" }, "operation"),
      el("th", { scope: "col" }, "status"), el("th", { scope: "col" }, "lead"),
      el("th", { scope: "col", class: "num" }, "incidents"),
      el("th", { scope: "col", class: "num" }, "killed")));
    for (const o of data.operations) {
      table.append(el("tr", {}, el("td", {}, o.name), el("td", {}, o.status),
        el("td", {}, o.lead), el("td", { class: "num" }, o.incidents.length),
        el("td", { class: "num" }, o.killed.best)));
    }
  } catch (error) {
    table.replaceChildren(el("tr", {}, el("td", { class: "muted" }, `Not shown: ${error.message}`)));
  }
}

async function renderChanges() {
  const box = $("change-list");
  if (!state.asOf) {
    box.replaceChildren(el("p", { class: "muted" }, "Move the slider back to compare with now."));
    return;
  }
  try {
    const data = await api("/changes", { from: state.asOf, by: "country", as_of: null },
      { unfiltered: true });
    if (!data.rows.length) {
      box.replaceChildren(el("p", { class: "muted" }, "Nothing changed since then."));
      return;
    }
    box.replaceChildren(el("table", {}, el("tr", {}, el("th", { scope: "col" }, "country"),
      el("th", { scope: "col", class: "num" }, "then"), el("th", { scope: "col", class: "num" }, "now"),
      el("th", { scope: "col" }, "because of")),
    data.rows.map((r) => el("tr", {}, el("td", {}, r.key),
      el("td", { class: "num" }, r.before.best), el("td", { class: "num" }, r.after.best),
      el("td", {}, r.causes.map((c) => `${c.report} (${c.source || "?"})`).join("; "))))));
  } catch (error) {
    box.replaceChildren(el("p", { class: "muted" }, `Not shown: ${error.message}`));
  }
}

// -- everything ------------------------------------------------------------------------------

// `initial`: the server's first view for this very query (no fetch for what it holds).
// `keepPage`: the same view, newer (the live feed): stay on the page shown.
async function render(initial = null, keepPage = false) {
  const generation = ++state.generation;
  clearProblems();
  showAsOf();
  exportLinks();
  if (!keepPage) {
    state.cursors = [null];
    state.pageIndex = 0;
  }
  if (initial && initial.error) {
    problem(initial.error.message);
    const refused = new ApiError(initial.error, initial.error.code);
    tallyTable($("by-country"), refused, "country");
    tallyTable($("by-admin1"), refused, "admin1");
    monthChart($("by-month"), refused);
    incidentTable(refused);
    state.count = null;
    countLabel();
    pager(refused);
    showMap([], refused);
    loadOutlines().then(() => { if (generation === state.generation) showMap([], refused); });
  } else {
    const pagePromise = initial ? Promise.resolve(initial.incidents) :
      api("/incidents", { limit: PAGE_SIZE, cursor: state.cursors[state.pageIndex] });
    const [count, page] = await Promise.all([renderCasualties(generation, initial),
      pagePromise.catch((error) => { problem(error); return error; })]);
    if (generation !== state.generation) return;
    state.count = count;
    countLabel();
    incidentTable(page);
    pager(page);
    await renderMap(generation);
  }
  await Promise.all([renderLeadership(), renderOperations(), renderChanges()]);
  if (generation !== state.generation) return;
  body.dataset.rendered = String(state.position ?? "");
  body.dataset.ready = String(generation);
}

// Renders, and shows any failure instead of leaving a promise unhandled.
function refresh(initial = null, keepPage = false) {
  return render(initial, keepPage).catch((error) => problem(error));
}

// -- knowledge time --------------------------------------------------------------------------

function sliderTime() {
  const v = Number($("slider").value);
  if (v >= 1000 || state.first === null) return "";
  const t = state.first + (Date.now() - state.first) * (v / 1000);
  return new Date(t).toISOString();
}

function showAsOf() {
  $("as-of-label").textContent = state.asOf ? state.asOf.replace("T", " ").slice(0, 19) : "now";
  $("live").className = state.asOf ? "live past" : "live";
  $("live").textContent = state.asOf ? "past" : "live";
}

function placeSlider() {
  $("slider").value = "1000";
  if (state.asOf && state.first !== null) {
    const t = Date.parse(state.asOf);
    if (!Number.isNaN(t)) {
      $("slider").value = String(Math.max(0, Math.min(999,
        Math.round(((t - state.first) / Math.max(1, Date.now() - state.first)) * 1000))));
    }
  }
}

async function start() {
  readUrl();
  syncForm();
  // The server's first view was read for this very URL: start from it.
  let initial = null;
  try {
    initial = JSON.parse($("initial").textContent);
  } catch (error) { /* no first view: fetch it */ }
  if (initial && initial.position !== undefined) state.position = initial.position;

  const form = $("filters");
  form.addEventListener("submit", (e) => { e.preventDefault(); setFilters(formFilters()); });
  for (const name of ["country", "type", "from", "to", "min_killed", "actor", "source"]) {
    $(name).addEventListener("change", () => setFilters(formFilters()));
  }
  $("actor").addEventListener("input", suggestActors);
  $("clear").addEventListener("click", (e) => {
    e.preventDefault();
    state.filters = {};
    writeUrl(true);
    syncForm();
    refresh();
  });
  $("next").addEventListener("click", () => turnPage(state.pageIndex + 1));
  $("previous").addEventListener("click", () => turnPage(Math.max(0, state.pageIndex - 1)));
  $("slider").addEventListener("input", () => { $("as-of-label").textContent =
    (sliderTime() || "now").replace("T", " ").slice(0, 19); });
  $("slider").addEventListener("change", () => { state.asOf = sliderTime(); writeUrl(true);
    syncForm(); refresh(); });
  $("now").addEventListener("click", () => { $("slider").value = "1000"; state.asOf = "";
    writeUrl(true); syncForm(); refresh(); });
  $("group").addEventListener("change", (e) => { state.group = e.target.value.trim() || "jnim";
    writeUrl(true); renderLeadership(); });
  window.addEventListener("popstate", () => {
    readUrl(); syncForm(); placeSlider(); $("group").value = state.group; refresh();
  });

  await refresh(initial);
  sourceOptions();
  try {
    const log = await api("/events", { limit: 1, as_of: null }, { unfiltered: true });
    if (log.events.length) state.first = Date.parse(log.events[0].recorded);
  } catch (error) { /* an empty or unreachable log: the slider stays at now */ }
  placeSlider();
  // The live feed opens once the page has loaded, from a worker: a capture that waits for
  // the network to be idle (headless Chromium's --virtual-time-budget) is not held by it.
  if (document.readyState === "complete") follow();
  else window.addEventListener("load", follow, { once: true });
}

function onPosition(data) {
  const moved = state.position !== null && data.position !== state.position;
  state.position = data.position;
  body.dataset.position = String(data.position);
  if (moved && !state.asOf) refresh(null, true);  // the live view follows; a past one stays
}

function follow() {
  const live = $("live");
  const handle = (type, data) => {
    if (type === "position") onPosition(JSON.parse(data));
    else if (type === "open") live.classList.remove("off");
    else if (type === "error" && !state.asOf) live.classList.add("off");
  };
  if (window.Worker) {
    try {
      const worker = new Worker(new URL("dashboard-stream.js", import.meta.url));
      worker.addEventListener("message", (e) => handle(e.data.type, e.data.data));
      worker.postMessage({ url: `${location.origin}${API}/stream` });
      return;
    } catch (error) { /* no worker: the page holds the stream itself */ }
  }
  if (!window.EventSource) return;
  const stream = new EventSource(`${API}/stream`);
  stream.addEventListener("position", (e) => handle("position", e.data));
  stream.addEventListener("open", () => handle("open"));
  stream.addEventListener("error", () => handle("error"));
}

start().catch((error) => problem(error));
