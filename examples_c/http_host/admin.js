// The admin page: a page of /admin/clients.json every three seconds, filtered and paged by the
// library (sessmgr_clients_query and sessmgr_sessions_query), and the buttons that message and
// disconnect a client by its number. Every value is shown with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let offset = 0;
let total = 0;

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function button(label, name, client, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.className = name;
  b.dataset.client = client;
  b.addEventListener("click", () => action(client));
  return b;
}

async function act(path, client) {
  const body = new URLSearchParams({ client, text: $("message-text").value, grace: $("grace").value });
  const response = await fetch(path, { method: "POST", body });
  const answer = await response.json();
  $("action-status").textContent =
    (path.endsWith("disconnect") ? "Disconnect " : "Message to ") + "client " + client + ": " +
    (response.ok ? "done" : answer.error);
  await load();
}

function query() {
  const q = new URLSearchParams({ offset: String(offset), limit: $("limit").value });
  for (const name of ["search", "type", "ipaddress"]) {
    if ($(name).value !== "") q.set(name, $(name).value);
  }
  return q;
}

async function load() {
  const response = await fetch("/admin/clients.json?" + query(), { cache: "no-store" });
  const data = await response.json();
  if (!response.ok) {
    $("action-status").textContent = data.error;
    return;
  }
  const page = data.clients.response;
  total = page.total;
  // The user of each client, from the sessions page (the same query, so the same sessions).
  const users = new Map(data.sessions.sessions.map((s) => [String(s.clientId), s.userName]));
  const clients = document.createElement("tbody");
  for (const c of page.clients) {
    const row = document.createElement("tr");
    row.dataset.client = c.id;
    cell(row, c.id);
    cell(row, c.userName).className = "identifier";
    cell(row, users.get(c.id) || "");
    cell(row, c.ipaddress);
    cell(row, c.appType);
    cell(row, c.connectTime);
    cell(row, c.connectDuration);
    cell(row, c.guestFiles.map((f) => f.filename).join(", "));
    cell(row, c.status);
    const actions = cell(row, "");
    actions.appendChild(button("Send message", "message", c.id, (n) => act("/admin/message", n)));
    actions.appendChild(button("Disconnect", "disconnect", c.id, (n) => act("/admin/disconnect", n)));
    clients.appendChild(row);
  }
  $("clients").replaceChild(clients, $("clients").tBodies[0]);
  const sessions = document.createElement("tbody");
  for (const s of data.sessions.sessions) {
    const row = document.createElement("tr");
    for (const text of [String(s.clientId), s.type, s.userName, s.IPAddress, s.creationDateTime, s.state]) {
      cell(row, text);
    }
    sessions.appendChild(row);
  }
  $("sessions").replaceChild(sessions, $("sessions").tBodies[0]);
  const stats = $("stats");
  stats.replaceChildren();
  for (const [name, value] of Object.entries(data.stats)) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent =
      value !== null && typeof value === "object"
        ? Object.entries(value).map(([k, v]) => k + " " + v).join(" · ")
        : String(value);
    stats.append(dt, dd);
  }
  const last = Math.min(offset + page.clients.length, total);
  $("page-info").textContent = total === 0 ? "no clients" : offset + 1 + "–" + last + " of " + total;
  $("refreshed").textContent = new Date().toLocaleTimeString();
}

document.addEventListener("DOMContentLoaded", () => {
  $("filters").addEventListener("input", () => {
    offset = 0;
    load();
  });
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("action-form").addEventListener("submit", (event) => event.preventDefault());
  $("prev").addEventListener("click", () => {
    offset = Math.max(0, offset - Number($("limit").value));
    load();
  });
  $("next").addEventListener("click", () => {
    if (offset + Number($("limit").value) < total) offset += Number($("limit").value);
    load();
  });
  load();
  setInterval(load, 3000);
});
