// The home page: what /me says about this session, every two seconds, and the forms, sent
// with fetch (same origin; the session cookie is HttpOnly and this script never sees it).
"use strict";

const $ = (id) => document.getElementById(id);

function show(id, text) {
  $(id).textContent = text;
}

async function refresh() {
  const response = await fetch("/me", { cache: "no-store" });
  const me = await response.json();
  if (!response.ok) {
    show("status", me.error || response.statusText);
    return;
  }
  show("who", me.guest ? "Guest" : me.userName);
  show("identifier-now", me.identifier === "" ? "(none)" : me.identifier);
  show("privileges", me.privileges.length ? me.privileges.join(", ") : "(none)");
  show("client", String(me.clientId));
  show("expires", me.expirationDate);
  show("count", String(me.counter));
  for (const message of me.inbox.messages) {
    const item = document.createElement("li");
    item.textContent =
      message.text + (message.disconnectAt ? " (you will be disconnected at " + message.disconnectAt + ")" : "");
    $("messages").appendChild(item);
  }
}

async function post(action, form) {
  const response = await fetch(action, { method: "POST", body: new URLSearchParams(new FormData(form)) });
  const answer = await response.json();
  show("status", response.ok ? action + ": done" : action + ": " + answer.error);
  if (response.ok && action === "/login") {
    $("password").value = "";
  }
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      post(form.dataset.action, form);
    });
  }
  $("counter").addEventListener("click", async () => {
    const response = await fetch("/counter", { cache: "no-store" });
    show("count", (await response.text()).trim());
  });
  refresh();
  setInterval(refresh, 2000);
});
