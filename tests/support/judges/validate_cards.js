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

function check(json) {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
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
