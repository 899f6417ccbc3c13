// The tab pages: sign in with Teams (or a local dev token), fetch server-rendered content, send edits back.
(function () {
  "use strict";
  const body = document.body;
  const kind = body.dataset.kind;
  const account = body.dataset.account;
  const content = document.getElementById("content");
  const devToken = new URLSearchParams(location.hash.slice(1)).get("token");
  let tokenPromise = null;

  function setTheme(theme) {
    body.classList.remove("theme-default", "theme-dark", "theme-contrast");
    body.classList.add("theme-" + (["dark", "contrast"].includes(theme) ? theme : "default"));
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
  }

  async function token() {
    if (devToken) return devToken;
    if (!tokenPromise) {
      tokenPromise = (async () => {
        const teams = window.microsoftTeams;
        await withTimeout(teams.app.initialize(), 5000);
        const context = await teams.app.getContext();
        setTheme(context.app.theme);
        body.dataset.locale = context.app.locale || body.dataset.locale;
        teams.app.registerOnThemeChangeHandler(setTheme);
        return teams.authentication.getAuthToken();
      })();
    }
    return tokenPromise;
  }

  function show(html) {
    content.innerHTML = html;
    content.setAttribute("aria-busy", "false");
    wire();
  }

  async function call(path, options) {
    let bearer;
    try {
      bearer = await token();
    } catch (error) {
      show('<p class="notice problem" role="alert"></p>');
      content.querySelector("p").textContent = body.dataset.signinFailed;
      return null;
    }
    const headers = Object.assign({ Authorization: "Bearer " + bearer }, (options && options.headers) || {});
    const localised = path + "&locale=" + encodeURIComponent(body.dataset.locale || "");
    const response = await fetch(localised, Object.assign({}, options, { headers: headers }));
    return response;
  }

  async function load(query) {
    content.setAttribute("aria-busy", "true");
    const response = await call("/tabs/" + kind + "/content?account=" + account + (query || ""));
    if (response) show(await response.text());
  }

  function planPayload(form) {
    const sections = {};
    form.querySelectorAll("textarea[name^='section:']").forEach((t) => { sections[t.name.slice(8)] = t.value; });
    const items = [];
    form.querySelectorAll("#items tbody tr").forEach((row) => {
      const value = (name) => row.querySelector("[name='" + name + "']").value;
      items.push({
        id: row.dataset.id, kind: value("kind"), title: value("title"),
        owner_id: value("owner_id") ? Number(value("owner_id")) : null, due_on: value("due_on") || null,
        status: value("status"), progress: Number(value("progress") || 0), comment: value("comment"),
      });
    });
    return { base_version: Number(form.dataset.version), sections: sections, items: items };
  }

  function newId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function wire() {
    const plan = document.getElementById("plan-form");
    if (plan) {
      document.getElementById("add-item").addEventListener("click", () => {
        const row = document.getElementById("new-row").content.firstElementChild.cloneNode(true);
        row.dataset.id = newId();
        plan.querySelector("#items tbody").appendChild(row);
        row.querySelector("[name='title']").focus();
      });
      plan.addEventListener("submit", async (event) => {
        event.preventDefault();
        const response = await call("/tabs/plan/save?account=" + account, {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(planPayload(plan)),
        });
        if (response) show(await response.text());
      });
    }
    const review = document.getElementById("review-form");
    if (review) {
      review.addEventListener("submit", async (event) => {
        event.preventDefault();
        const response = await call("/tabs/plan/review?account=" + account, {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ due_on: review.querySelector("[name='due_on']").value }),
        });
        if (response) show(await response.text());
      });
    }
    const filters = document.getElementById("log-filters");
    if (filters) {
      const query = () => "&" + new URLSearchParams(new FormData(filters)).toString();
      filters.addEventListener("submit", (event) => { event.preventDefault(); load(query()); });
      document.querySelectorAll("button.export").forEach((button) => {
        button.addEventListener("click", async () => {
          const format = button.dataset.format;
          const response = await call("/tabs/log/export." + format + "?account=" + account + query());
          if (!response || !response.ok) return;
          const link = document.createElement("a");
          link.href = URL.createObjectURL(await response.blob());
          link.download = "log." + format;
          link.click();
        });
      });
    }
  }

  // What Teams calls when the user switches theme (registered above); named so that it can be seen working.
  window.kambot = { setTheme: setTheme };
  setTheme(new URLSearchParams(location.search).get("theme") || "default");
  load("").catch(() => {
    show('<p class="notice problem" role="alert"></p>');
    content.querySelector("p").textContent = body.dataset.error;
  });
})();
