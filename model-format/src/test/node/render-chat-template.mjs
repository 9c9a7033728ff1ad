// Renders chat templates with @huggingface/jinja, an independent Jinja implementation (the one transformers.js uses).
// Each line of standard input is a JSON object {"template": T, "context": C, "today": "YYYY-MM-DD"?}; each output line
// is {"output": TEXT} or {"error": MESSAGE}. "today" fixes strftime_now's date (midday UTC) so both sides agree.
// usage: node render-chat-template.mjs < cases.jsonl
import { Environment, Template } from "@huggingface/jinja";
import { createInterface } from "node:readline";

// Values given in the context replace the package's globals of the same name (strftime_now), as in Python's
// template.render(**context).
const declare = Environment.prototype.set;
Environment.prototype.set = function (name, value) {
  if (!this.variables.has(name)) return declare.call(this, name, value);
  return this.setVariable(name, declare.call(new Environment(), name, value));
};

for await (const line of createInterface({ input: process.stdin })) {
  if (line.length === 0) continue;
  const { template, context, today } = JSON.parse(line);
  let result;
  try {
    const items = { ...context };
    if (today) {
      const date = new Date(today + "T12:00:00Z");
      items.strftime_now = (format) => strftime(date, format);
    }
    result = { output: new Template(template).render(items) };
  } catch (e) {
    result = { error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}

// Python's strftime for the directives chat templates use, in UTC and English.
function strftime(date, format) {
  const months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December"];
  const days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const pad = (n) => String(n).padStart(2, "0");
  return format.replace(/%[YmdbBaAHMSy%]/g, (t) => ({
    "%Y": String(date.getUTCFullYear()), "%y": pad(date.getUTCFullYear() % 100), "%m": pad(date.getUTCMonth() + 1),
    "%d": pad(date.getUTCDate()), "%b": months[date.getUTCMonth()].slice(0, 3), "%B": months[date.getUTCMonth()],
    "%a": days[date.getUTCDay()].slice(0, 3), "%A": days[date.getUTCDay()], "%H": pad(date.getUTCHours()),
    "%M": pad(date.getUTCMinutes()), "%S": pad(date.getUTCSeconds()), "%%": "%",
  })[t]);
}
