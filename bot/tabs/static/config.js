// The configurable tab's set-up page: pick Plan, Log or Stakeholders; the channel's key account comes from kambot.
import { applyTheme } from "./theme.js";

const body = document.body;
const status = document.getElementById("account");
let account = null;

function say(text, problem) {
  const bar = document.createElement("fluent-message-bar");
  bar.setAttribute("intent", problem ? "error" : "info");
  bar.textContent = text;
  status.replaceChildren(bar);
  status.className = problem ? "notice problem" : "notice done";
}

function chosen() {
  const checked = document.querySelector("input[name='kind']:checked");
  return checked ? checked.value : null;
}

async function start() {
  const teams = window.microsoftTeams;
  await teams.app.initialize();
  const context = await teams.app.getContext();
  applyTheme(context.app.theme);
  teams.app.registerOnThemeChangeHandler(applyTheme);
  const token = await teams.authentication.getAuthToken();
  const channel = context.channel && context.channel.id;
  const response = await fetch(
    "/tabs/config/channel?channel=" + encodeURIComponent(channel || "") +
      "&locale=" + encodeURIComponent(context.app.locale || body.dataset.locale),
    { headers: { Authorization: "Bearer " + token } }
  );
  const answer = await response.json();
  if (!response.ok) {
    say(answer.message, true);
    return;
  }
  account = answer;
  say(answer.message, false);
  document.querySelectorAll("input[name='kind']").forEach((input) =>
    input.addEventListener("change", () => teams.pages.config.setValidityState(Boolean(chosen())))
  );
  teams.pages.config.registerOnSaveHandler((saving) => {
    const kind = chosen();
    const url = location.origin + "/tabs/" + kind + "?account=" + account.account_id;
    teams.pages.config
      .setConfig({
        entityId: "kambot-" + kind + "-" + account.account_id,
        contentUrl: url,
        websiteUrl: url,
        suggestedDisplayName: body.dataset["name" + kind.charAt(0).toUpperCase() + kind.slice(1)],
      })
      .then(() => saving.notifySuccess(), (error) => saving.notifyFailure(String(error)));
  });
}

start().catch(() => say(body.dataset.signinFailed, true));
