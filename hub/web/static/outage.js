// The outage banner (base.html): asks the hub every 5 s whether a signing provider the
// signed-in person signs with is down, and shows or hides the banner at once. Every
// word comes from the hub's answer (already in the page's language).
(function () {
  "use strict";
  var banner = document.getElementById("outage-banner");
  if (!banner || !window.fetch) { return; }
  var url = banner.getAttribute("data-poll");
  if (!url) { return; }
  var EVERY_MS = 5000;

  function show(lines) {
    while (banner.firstChild) { banner.removeChild(banner.firstChild); }
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      banner.appendChild(p);
    });
    banner.hidden = lines.length === 0;
  }

  function ask() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { return null; }  // signed out: stop asking
        return response.ok ? response.json() : { keep: true };
      })
      .then(function (answer) {
        if (answer === null) { show([]); return; }
        if (answer.lines) { show(answer.lines); }
        window.setTimeout(ask, EVERY_MS);
      })
      .catch(function () { window.setTimeout(ask, EVERY_MS); });
  }

  window.setTimeout(ask, EVERY_MS);
})();
