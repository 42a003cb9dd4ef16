// Parse an iCalendar file with ical.js and print what a client would see, as JSON.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2], "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));
const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  const zone = (t) => (t.isDate ? "date" : t.zone === ICAL.Timezone.utcTimezone ? "UTC" : t.zone === ICAL.Timezone.localTimezone ? "floating" : t.zone.tzid);
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    location: event.location,
    status: vevent.getFirstPropertyValue("status"),
    sequence: vevent.getFirstPropertyValue("sequence"),
    url: vevent.getFirstPropertyValue("url"),
    start: event.startDate.isDate ? event.startDate.toString() : event.startDate.toUnixTime(),
    end: event.endDate.isDate ? event.endDate.toString() : event.endDate.toUnixTime(),
    startZone: zone(event.startDate),
    categories: vevent.getAllProperties("categories").flatMap((p) => p.getValues()),
  };
});
const props = {};
for (const name of ["x-wr-calname", "name", "refresh-interval", "x-published-ttl", "x-wr-timezone"]) {
  const value = calendar.getFirstPropertyValue(name);
  props[name] = value === null ? null : value.toString();
}
console.log(JSON.stringify({ props, events }));
