// northca-mock inspector: plain JS, no build step, same-origin requests only.
// It polls the control plane once a second (journal since the last entry seen, link requests),
// and reloads the rest when the journal moved or every 10 s.
"use strict";

const TOKEN_KEY = "northca-mock-admin-token";
const TOKEN_HEADER = "x-mock-admin-token";
const NAMESPACE_HEADER = "x-mock-namespace";
const POLL_MS = 1000;
const SLOW_EVERY = 10; // ticks
const KEEP_ENTRIES = 500;
const ROWS_PER_TABLE = 50;
const COLLECTIONS = [
  ["active_units", "Units", ["id", "officer_name", "department", "status", "last_seen"]],
  ["shifts", "Shifts", ["id", "officer_name", "status", "department", "start_time", "end_time"]],
  ["calls", "Calls", ["id", "classification", "status", "priority", "location", "units_assigned"]],
  ["scene_reports", "Scene reports", ["id", "title", "status", "location", "officer_name"]],
  ["tickets", "Tickets", ["id", "title", "status", "priority", "officer_name"]],
];

const view = {
  namespace: "",
  entries: [], // newest first
  latest: 0,
  selected: null,
  operations: [],
  tick: 0,
  needsToken: false,
  stateDirty: true,
  wholeSignature: "",
  stateEvery: 1, // ticks between state reloads while the journal moves
  simulationApplied: null,
  userAction: false,
};

// -- small DOM helpers (text only: nothing from the server is parsed as HTML) ----------------
const $ = (id) => document.getElementById(id);

// The GET endpoints this server has under /__mock (filled in by the server that serves the
// page): panels of endpoints it lacks are hidden from the start, and nothing is probed.
const ENDPOINTS = new Set(
  (document.querySelector('meta[name="northca-endpoints"]')?.content || "").split(" ").filter(Boolean),
);
// The panels each endpoint fills.
const PANELS = {
  "/link-requests": ["links-panel"],
  "/state": ["state-panel", "clock-panel"],
  "/simulation": ["simulation-panel"],
  "/faults": ["faults-panel"],
  "/coverage": ["coverage-panel"],
  "/namespaces": ["namespace-control"],
  "/deviations": ["deviations-panel"],
  "/journal": ["now-control"],
};

// A list under the pointer is not redrawn (its rows would move under a click): the newest
// drawing waits until the pointer leaves it.
const heldDrawings = new Map();

function drawUnlessHeld(id, draw) {
  const node = $(id);
  if (node && node.matches(":hover") && !view.userAction) {
    heldDrawings.set(id, draw);
    return;
  }
  heldDrawings.delete(id);
  draw();
}

function releaseWhenLeft(id) {
  $(id).addEventListener("mouseleave", () => {
    const draw = heldDrawings.get(id);
    if (draw) drawUnlessHeld(id, draw);
  });
}

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch (_) {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

let sayTimer = null;

function say(text, isError) {
  // A floating message: it covers nothing for long and moves nothing.
  const message = $("message");
  message.textContent = text;
  message.classList.toggle("error", Boolean(isError));
  message.hidden = !text;
  clearTimeout(sayTimer);
  sayTimer = setTimeout(() => { message.hidden = true; }, isError ? 8000 : 4000);
}

// -- HTTP ----------------------------------------------------------------------------------
class ControlError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function baseHeaders() {
  const headers = {};
  if (view.namespace) headers[NAMESPACE_HEADER] = view.namespace;
  return headers;
}

async function control(method, path, body) {
  const headers = baseHeaders();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers[TOKEN_HEADER] = token;
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  const response = await fetch("/__mock" + path, init);
  let payload = null;
  try {
    payload = await response.json();
  } catch (_) {
    payload = null;
  }
  if (response.status === 401 && payload && payload.ok === false) {
    askForToken(token ? "The admin token was refused." : null);
    throw new ControlError(401, payload.error);
  }
  if (!response.ok || !payload || payload.ok !== true) {
    throw new ControlError(response.status, payload && payload.error ? payload.error : response.statusText);
  }
  return payload.data;
}

// -- admin token ------------------------------------------------------------------------------
function askForToken(reason) {
  view.needsToken = true;
  $("token-panel").hidden = false;
  $("token-title").textContent = reason || "Admin token required";
  $("live").textContent = "refused: admin token required";
  if (document.activeElement !== $("token-input")) $("token-input").focus();
}

function tokenSubmitted(event) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token-input").value);
  $("token-input").value = "";
  $("token-panel").hidden = true;
  $("forget-token").hidden = false;
  view.needsToken = false;
  refreshAll();
}

function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  $("forget-token").hidden = true;
  refreshAll();
}

// -- journal --------------------------------------------------------------------------------
async function pollJournal() {
  const data = await control("GET", `/journal?after=${view.latest}&limit=${KEEP_ENTRIES}`);
  showNow(data.now);
  let changed = false;
  if (data.oldest === null) {
    changed = view.entries.length > 0;
    view.entries = [];
  } else {
    const kept = view.entries.filter((entry) => entry.seq >= data.oldest);
    changed = kept.length !== view.entries.length;
    view.entries = kept;
  }
  if (data.entries.length) {
    view.entries = data.entries.concat(view.entries).slice(0, KEEP_ENTRIES);
    changed = true;
  }
  view.latest = data.latest === null ? view.latest : Math.max(view.latest, data.latest);
  if (changed) {
    drawUnlessHeld("journal-list", renderJournal);
    view.stateDirty = true;
  }
}

function statusMatches(status, filter) {
  if (filter === "*") return true;
  if (filter.endsWith("xx")) return Math.floor(status / 100) === Number(filter[0]);
  return String(status) === filter;
}

function opLabel(entry) {
  return entry.operation_id || "(no operation)";
}

function renderJournal() {
  const op = $("filter-op").value;
  const status = $("filter-status").value;
  const shown = view.entries.filter(
    (entry) => (op === "*" || opLabel(entry) === op) && statusMatches(entry.status, status),
  );
  const list = $("journal-list");
  const focusedSeq = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.seq : undefined;
  list.replaceChildren(
    ...shown.map((entry) => {
      const cls = `status s${Math.floor(entry.status / 100)}xx`;
      const button = h(
        "button",
        {
          type: "button",
          class: "entry",
          "data-seq": entry.seq,
          "aria-pressed": view.selected === entry.seq ? "true" : "false",
          onclick: () => select(entry.seq),
        },
        h("span", { class: "time", text: (entry.timestamp || "").slice(11, 23) }),
        h("span", { class: cls, text: entry.status === 0 ? "none" : entry.status }),
        h("span", { class: "what" },
          h("span", { class: "op", text: opLabel(entry) }),
          h("span", { class: "method", text: entry.method }), " ",
          h("span", { class: "path", text: entry.path + (entry.query ? "?" + entry.query : "") })),
      );
      return h("li", {}, button);
    }),
  );
  $("journal-count").textContent = `${shown.length} of ${view.entries.length} shown`;
  if (focusedSeq !== undefined) {
    const again = list.querySelector(`button[data-seq="${CSS.escape(focusedSeq)}"]`);
    if (again) again.focus();
  }
  renderFilterStatuses();
  renderFilterOperations(view.entries.map(opLabel));
}

function renderFilterStatuses() {
  const select = $("filter-status");
  const known = new Set([...select.options].map((option) => option.value));
  const seen = [...new Set(view.entries.map((entry) => String(entry.status)))].sort();
  for (const status of seen) {
    if (!known.has(status)) select.append(h("option", { value: status, text: status }));
  }
}

function renderFilterOperations(operations) {
  const select = $("filter-op");
  const known = new Set([...select.options].map((option) => option.value));
  for (const op of operations) {
    if (!known.has(op)) select.append(h("option", { value: op, text: op }));
    known.add(op);
  }
}

function select(seq) {
  view.selected = seq;
  const entry = view.entries.find((item) => item.seq === seq);
  for (const button of document.querySelectorAll("#journal-list button.entry")) {
    button.setAttribute("aria-pressed", button.dataset.seq === String(seq) ? "true" : "false");
  }
  renderDetail(entry);
}

function headerTable(headers, caption) {
  const rows = Object.entries(headers || {}).map(([name, value]) =>
    h("tr", {}, h("th", { scope: "row", text: name }), h("td", { text: value })),
  );
  return h("table", { class: "headers" }, h("caption", { text: caption }), h("tbody", {}, rows));
}

function renderDetail(entry) {
  const detail = $("detail");
  if (!entry) {
    detail.replaceChildren(h("h3", { id: "detail-title", text: "Request and response" }),
      h("p", { class: "hint", text: "Choose a request above to see it here." }));
    return;
  }
  const response = entry.response || {};
  let diagnostic = response.detail;
  if (!diagnostic) {
    try {
      const parsed = JSON.parse(response.body);
      if (parsed && typeof parsed.detail === "string") diagnostic = parsed.detail;
    } catch (_) { /* not JSON */ }
  }
  detail.replaceChildren(
    h("h3", { id: "detail-title", text: `#${entry.seq} ${entry.method} ${entry.path}` }),
    h("div", { class: "pair" },
      h("div", {},
        h("h4", { text: "Request" }),
        h("dl", {},
          h("dt", { text: "Method" }), h("dd", { text: entry.method }),
          h("dt", { text: "Path" }), h("dd", { text: entry.path }),
          h("dt", { text: "Query" }), h("dd", { text: entry.query || "(none)" }),
          h("dt", { text: "Operation" }), h("dd", { text: opLabel(entry) }),
          h("dt", { text: "At (mock clock)" }), h("dd", { text: entry.timestamp })),
        headerTable(entry.headers, "Request headers (partner key redacted)"),
        h("h5", { text: "Body" }),
        h("pre", { class: "json", text: entry.body === null || entry.body === undefined ? "(none)" : pretty(entry.body) })),
      h("div", {},
        h("h4", { text: "Response" }),
        h("dl", {},
          h("dt", { text: "Status" }), h("dd", { text: entry.status === 0 ? `no answer (${entry.connection_fault})` : entry.status }),
          h("dt", { text: "Diagnostic" }), h("dd", { class: "diagnostic", text: diagnostic || "(none)" })),
        headerTable(response.headers, "Response headers"),
        h("h5", { text: "Body" }),
        response.truncated
          ? h("p", { class: "hint", text: `The journal kept the first ${response.body.length} characters of ${response.body_bytes} bytes (serve --journal-max-body-bytes).` })
          : null,
        h("pre", { class: "json", text: response.body ? pretty(response.body) : "(empty)" }))),
  );
}

// -- link requests ----------------------------------------------------------------------------
async function loadLinkRequests() {
  const data = await control("GET", "/link-requests");
  const list = $("link-requests");
  const signature = JSON.stringify(data.link_requests);
  if (list.dataset.signature === signature) return;
  drawUnlessHeld("link-requests", () => drawLinkRequests(data, signature));
}

function drawLinkRequests(data, signature) {
  const list = $("link-requests");
  list.dataset.signature = signature;
  if (!data.link_requests.length) {
    list.replaceChildren(h("li", { class: "hint", text: "No link requests in this namespace." }));
    return;
  }
  list.replaceChildren(
    ...data.link_requests.map((req) =>
      h("li", { class: `card link ${req.status}`, "data-id": req.id },
        h("div", {},
          h("strong", { class: `badge ${req.status}`, text: req.status }), " ",
          h("span", { text: `MDT ${req.mdt_id}` })),
        h("div", { class: "hint", text: `guild ${req.guild_id} · partner ${req.partner} · owner ${req.owner_discord_id || "(none)"}` }),
        h("div", { class: "hint", text: `created ${req.created_at} · expires ${req.expires_at}` +
          (req.decided_at ? ` · decided ${req.decided_at}` : "") }),
        req.act_as_owner
          ? h("div", { class: "row" },
            h("button", { type: "button", class: "approve", onclick: () => decide(req, "confirm"),
              "aria-label": `Approve as owner: link request for MDT ${req.mdt_id}` }, "Approve as owner"),
            h("button", { type: "button", class: "deny", onclick: () => decide(req, "deny"),
              "aria-label": `Deny as owner: link request for MDT ${req.mdt_id}` }, "Deny as owner"))
          : null),
    ),
  );
}

async function decide(req, action) {
  // The partner API itself, as the MDT's owner: the journal shows this request like any other.
  const headers = { ...baseHeaders(), ...req.act_as_owner };
  try {
    const response = await fetch(`/link-requests/${encodeURIComponent(req.id)}/${action}`, {
      method: "POST", headers, credentials: "same-origin", cache: "no-store",
    });
    const payload = await response.json().catch(() => null);
    const what = action === "confirm" ? "Approve" : "Deny";
    if (payload && payload.ok) say(`${what} as owner: ${response.status}, request ${payload.data.status}.`);
    else say(`${what} as owner: ${response.status} ${payload ? payload.error : ""}`, true);
  } catch (error) {
    say(`Request failed: ${error.message}`, true);
  }
  await refreshAll();
}

// -- clock ----------------------------------------------------------------------------------
function showNow(now) {
  $("now").textContent = now;
  $("clock-now").textContent = now;
  if (!$("set-now").value) $("set-now").value = now;
}

async function setClock(body) {
  try {
    const data = await control("POST", "/clock", body);
    say(`Clock now ${data.now}.`);
  } catch (error) {
    say(`Clock: ${error.message}`, true);
  }
  await refreshAll();
}

// -- state per MDT ----------------------------------------------------------------------------
function recordTable(kind, title, columns, records, panics) {
  const shown = records.slice(0, ROWS_PER_TABLE);
  const units = kind === "active_units";
  const headings = units ? [columns[0], "panic", ...columns.slice(1)] : columns;
  return h("div", { class: "collection" },
    h("h3", { text: `${title} (${records.length})` }),
    h("div", { class: "scroll" },
      h("table", { class: "records", "aria-label": title },
        h("thead", {}, h("tr", {}, headings.map((col) => h("th", { scope: "col", text: col })))),
        h("tbody", {}, shown.map((record) => {
          const panic = units ? panics.get(record.id) : null;
          const cells = columns.map((col) => {
            const value = record[col];
            return h("td", { text: value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : value });
          });
          if (units) {
            cells.splice(1, 0, h("td", {}, panic
              ? [h("strong", { class: "panic", text: "PANIC 10-33" }),
                h("span", { class: "panic-when", text: `${panic.ts}${panic.address ? " · " + panic.address : ""}` })]
              : "no"));
          }
          return h("tr", { class: panic ? "panicked" : null }, cells);
        })))),
    records.length > shown.length ? h("p", { class: "hint", text: `newest ${shown.length} of ${records.length} shown` }) : null);
}

function emptyCollections(data) {
  const empty = COLLECTIONS.filter(([kind]) => !(data[kind] || []).length).map(([, title]) => title.toLowerCase());
  return empty.length ? h("p", { class: "hint", text: `No ${empty.join(", ")}.` }) : null;
}

async function loadState() {
  const state = await control("GET", "/state");
  drawUnlessHeld("mdts", () => drawState(state));
}

function drawState(state) {
  const container = $("mdts");
  const open = new Set([...container.querySelectorAll("details[open]")].map((d) => d.dataset.mdt));
  const first = container.children.length === 0;
  container.replaceChildren(
    ...Object.entries(state.mdts).map(([mdtId, data]) => {
      const links = state.links.filter((link) => link.mdt_id === mdtId);
      const panics = new Map();
      for (const event of data.events || []) if (event.type === "panic") panics.set(event.unit_id, event);
      const summary = h("summary", {},
        h("span", { class: "mdt-id", text: `MDT ${mdtId}` }),
        panics.size ? h("strong", { class: "panic", text: ` PANIC (${panics.size})` }) : null,
        h("span", { class: "hint", text: links.length ? ` linked to ${links.length} guild(s)` : " not linked" }));
      return h("details", { "data-mdt": mdtId, open: first || open.has(mdtId) }, summary,
        h("h3", { text: "Guild links" }),
        links.length
          ? h("ul", {}, links.map((link) => h("li", { text: `guild ${link.guild_id} · partner ${link.partner} · owner ${link.owner_discord_id || "(none)"} · linked ${link.linked_at}` })))
          : h("p", { class: "hint", text: "none" }),
        COLLECTIONS.filter(([kind]) => (data[kind] || []).length).map(([kind, title, columns]) =>
          recordTable(kind, title, columns, data[kind], panics)),
        emptyCollections(data));
    }),
  );
}

// -- simulation ----------------------------------------------------------------------------
async function loadSimulation() {
  const data = await control("GET", "/simulation");
  if (data.applied !== view.simulationApplied) {
    view.simulationApplied = data.applied;
    view.stateDirty = true; // the records moved without a request in the journal
  }
  $("simulation-status").textContent = data.events_per_minute
    ? `Running: ${data.events_per_minute} events a minute, seed ${data.seed}, ${data.mdts.length} MDT(s); ` +
      `${data.applied} applied since ${data.started_at}` + (data.skipped ? `, ${data.skipped} skipped` : "") + "."
    : "Stopped. Start it to make calls, units, shifts, tickets and reports change on the mock's clock.";
  $("simulation-stop").disabled = !data.events_per_minute;
  const signature = `${data.applied}:${data.started_at}`;
  const list = $("simulation-events");
  if (list.dataset.signature === signature) return;
  list.dataset.signature = signature;
  drawUnlessHeld("simulation-events", () => list.replaceChildren(
    ...data.events.slice().reverse().map((event) =>
      h("li", { class: event.event === "panic" ? "panic-event" : null },
        h("span", { class: "time", text: event.at.slice(11, 23) }),
        h("span", { class: "kind", text: event.event }),
        h("span", { text: `${event.summary} · MDT ${event.mdt_id.slice(0, 8)}` }))),
  ));
}

async function setSimulation(body) {
  try {
    const data = await control("POST", "/simulation", body);
    say(data.events_per_minute ? `Simulation started: ${data.events_per_minute} events a minute.` : "Simulation stopped.");
  } catch (error) {
    say(`Simulation: ${error.message}`, true);
  }
  await refreshAll();
}

// -- faults, coverage, namespaces, deviations --------------------------------------------------
async function loadFaults() {
  const plan = await control("GET", "/faults");
  $("faults").textContent = pretty(plan);
  $("clear-faults").disabled = Object.keys(plan.operations || {}).length === 0;
}

async function clearFaults() {
  try {
    await control("POST", "/faults", {});
    say("Fault plan cleared.");
  } catch (error) {
    say(`Fault plan: ${error.message}`, true);
  }
  await refreshAll();
}

async function loadCoverage() {
  const data = await control("GET", "/coverage");
  const t = data.totals;
  $("coverage-totals").textContent =
    `${t.responses_seen} of ${t.responses_documented} documented responses seen; ` +
    `${t.operations_called} of ${t.operations} operations called; ${t.requests} requests` +
    (t.unrouted ? `, ${t.unrouted} to unknown paths` : "") + (t.no_answer ? `, ${t.no_answer} without answer` : "") + ".";
  renderFilterOperations([...data.operations.map((op) => op.operation_id), "(no operation)"]);
  $("coverage").tBodies[0].replaceChildren(
    ...data.operations.map((op) =>
      h("tr", {},
        h("th", { scope: "row" }, h("code", { text: op.operation_id }), h("div", { class: "hint", text: `${op.method} ${op.path}` })),
        h("td", { text: op.calls }),
        h("td", {},
          op.responses.map((r) => h("span", {
            class: r.seen ? "chip seen" : "chip",
            title: r.errors.map((e) => `${e.seen ? "seen" : "not seen"}: ${e.error}`).join("\n") || null,
            text: `${r.status} ${r.seen ? "✓" + r.seen : "✗"}`,
          })),
          op.undocumented.map((r) => h("span", { class: "chip undocumented", text: `${r.status} undocumented ×${r.seen}` }))))),
  );
}

async function loadNamespaces() {
  const data = await control("GET", "/namespaces");
  const select = $("namespace");
  const names = new Set(data.namespaces);
  names.add(view.namespace);
  const wanted = [...names].sort();
  const current = [...select.options].map((option) => option.value);
  if (JSON.stringify(current) === JSON.stringify(wanted)) return;
  select.replaceChildren(...wanted.map((name) =>
    h("option", { value: name, text: name === "" ? "(default)" : name, selected: name === view.namespace })));
}

async function loadDeviations() {
  const data = await control("GET", "/deviations");
  $("deviations-totals").textContent = `${data.deviations.length} deviation(s) in ${data.exchanges} exchange(s).`;
  $("deviations").replaceChildren(...data.deviations.map((d) =>
    h("li", { class: "card" },
      h("div", {}, h("strong", { text: `${d.method || ""} ${d.path || ""} → ${d.status ?? ""}` }), " ",
        h("code", { text: d.operation_id || d.operationId || "" })),
      h("div", { text: `${d.rule || ""}${d.evidence ? " · evidence: " + d.evidence : ""}` }),
      h("pre", { class: "json", text: pretty(d) }))));
}

// -- the loop -------------------------------------------------------------------------------
let timer = null;
let running = false;

// A server that lacks an endpoint (e.g. `proxy` has no state) has its panels hidden.
async function optional(path, loader) {
  if (ENDPOINTS.has(path)) await loader();
}

function showPanels() {
  for (const [path, panels] of Object.entries(PANELS)) {
    for (const id of panels) $(id).hidden = !ENDPOINTS.has(path);
  }
}

async function refresh(all) {
  if (running) return;
  running = true;
  try {
    if (ENDPOINTS.has("/journal")) await pollJournal();
    else await pollWholeJournal();
    await optional("/link-requests", loadLinkRequests);
    await optional("/simulation", loadSimulation);
    const due = view.stateDirty && view.tick % view.stateEvery === 0;
    if (all || due || view.tick % SLOW_EVERY === 0) {
      view.stateDirty = false;
      const started = performance.now();
      await optional("/state", loadState);
      // A large state is costly to read and draw: then reload it at most every SLOW_EVERY s.
      view.stateEvery = performance.now() - started > 200 ? SLOW_EVERY : 1;
      await optional("/faults", loadFaults);
      await optional("/coverage", loadCoverage);
      await optional("/namespaces", loadNamespaces);
      await optional("/deviations", loadDeviations);
    }
    $("token-panel").hidden = true;
    $("live").textContent = `live · ${new Date().toLocaleTimeString()}`;
    $("live").classList.remove("down");
  } catch (error) {
    if (!view.needsToken) {
      $("live").textContent = `not connected: ${error.message}`;
      $("live").classList.add("down");
    }
  } finally {
    running = false;
  }
}

// Without `GET /__mock/journal`: the whole journal (`GET /__mock/requests`, oldest first).
async function pollWholeJournal() {
  const data = await control("GET", "/requests");
  const entries = data.map((entry, index) => ({ seq: index + 1, ...entry })).reverse();
  const signature = entries.length ? `${entries.length}:${entries[0].seq}` : "";
  if (signature === view.wholeSignature) return;
  view.wholeSignature = signature;
  view.entries = entries.slice(0, KEEP_ENTRIES);
  renderJournal();
  view.stateDirty = true;
}

async function refreshAll() {
  // After the user's own action everything is redrawn, under the pointer too: what moves is
  // the answer to that click.
  while (running) await new Promise((resolve) => setTimeout(resolve, 50));
  view.userAction = true;
  try {
    await refresh(true);
  } finally {
    view.userAction = false;
  }
}

async function loop() {
  view.tick += 1;
  if (!document.hidden && !view.needsToken) await refresh(false);
  timer = setTimeout(loop, POLL_MS);
}

async function switchNamespace(name) {
  // Let a poll of the previous namespace finish first, so its answer cannot land in this one.
  while (running) await new Promise((resolve) => setTimeout(resolve, 50));
  view.namespace = name;
  view.entries = [];
  view.latest = 0;
  view.selected = null;
  $("link-requests").dataset.signature = "";
  $("simulation-events").dataset.signature = "";
  view.simulationApplied = null;
  $("mdts").replaceChildren();
  renderJournal();
  renderDetail(null);
  history.replaceState(null, "", name ? `#ns=${encodeURIComponent(name)}` : "#");
  refreshAll();
}

function start() {
  const match = /ns=([^&]*)/.exec(location.hash);
  try {
    view.namespace = match ? decodeURIComponent(match[1]) : "";
  } catch (_) {
    view.namespace = ""; // a malformed #ns= falls back to the default namespace
  }
  $("namespace").addEventListener("change", (event) => switchNamespace(event.target.value));
  $("filter-op").addEventListener("change", renderJournal);
  $("filter-status").addEventListener("change", renderJournal);
  $("token-form").addEventListener("submit", tokenSubmitted);
  $("forget-token").addEventListener("click", forgetToken);
  $("forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
  $("clear-faults").addEventListener("click", clearFaults);
  showPanels();
  for (const id of ["journal-list", "link-requests", "mdts", "simulation-events"]) releaseWhenLeft(id);
  $("simulation-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setSimulation({
      events_per_minute: Number($("simulation-rate").value),
      seed: Number($("simulation-seed").value),
    });
  });
  $("simulation-stop").addEventListener("click", () => setSimulation({ events_per_minute: 0 }));
  $("advance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setClock({ advance_seconds: Number($("advance-seconds").value) });
  });
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => setClock({ advance_seconds: Number(button.dataset.advance) }));
  }
  $("set-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setClock({ now: $("set-now").value.trim() });
  });
  if (view.namespace) {
    $("namespace").append(h("option", { value: view.namespace, text: view.namespace }));
    $("namespace").value = view.namespace;
  }
  refreshAll().then(() => { timer = setTimeout(loop, POLL_MS); });
}

document.addEventListener("DOMContentLoaded", start);
