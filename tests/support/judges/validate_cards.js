// Parses Adaptive Cards with Microsoft's official `adaptivecards` library and
// prints, per card, every parse and validation event it reports.
// Input on stdin: a JSON array of cards. Output on stdout: a JSON array of
// {errors: [...]} in the same order.
"use strict";
const { JSDOM } = require("jsdom");

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>");
global.window = dom.window;
global.document = dom.window.document;
global.HTMLElement = dom.window.HTMLElement;
global.navigator = dom.window.navigator;

const AC = require("adaptivecards/dist/adaptivecards.js");

// Each card is judged against the version it declares (what a client renders it as): an element
// or property newer than that is an event too. Cards that declare none are judged as 1.5.
function declaredVersion(json) {
  if (!json || typeof json.version !== "string") return AC.Versions.v1_5;
  const version = AC.Version.parse(json.version, new AC.SerializationContext());
  return version && version.isValid ? version : AC.Versions.v1_5;
}

function check(json) {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(declaredVersion(json));
  card.parse(json, context);
  const events = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    events.push(`parse: ${e.message} (${AC.ValidationEvent[e.event]})`);
  }
  const results = card.validateProperties();
  for (const e of results.validationEvents) {
    events.push(`validate: ${e.message} (${AC.ValidationEvent[e.event]})`);
  }
  return { errors: events };
}

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const cards = JSON.parse(input);
  process.stdout.write(JSON.stringify(cards.map(check)));
});
