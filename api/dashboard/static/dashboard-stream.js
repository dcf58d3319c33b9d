// The dashboard's live feed, held in a worker: the page's own network goes idle once it has
// loaded, so a capture waiting for that (headless Chromium's --virtual-time-budget) ends,
// while the page still hears each new position of the views.
"use strict";

self.addEventListener("message", (e) => {
  const stream = new EventSource(e.data.url);
  stream.addEventListener("position", (m) => self.postMessage({ type: "position", data: m.data }));
  stream.addEventListener("open", () => self.postMessage({ type: "open" }));
  stream.addEventListener("error", () => self.postMessage({ type: "error" }));
}, { once: true });
