// A provider migration's page: while the migration is open, asks the hub every 2 s how it
// stands, and moves the bar and the counts (a count at zero is hidden). The list of people
// is not redrawn while someone may be reading it: once the counts move it says it is out of
// date. When the state changes (paused, everyone done, rolled back…) the page is loaded
// again, so its buttons are those the new state allows. Every word comes from the hub's
// answer or the page (already in the page's language).
(function () {
  "use strict";
  var root = document.getElementById("migration");
  if (!root) { return; }
  var url = root.getAttribute("data-progress-url");
  var page = root.getAttribute("data-page-url");
  var shownState = root.getAttribute("data-state");
  var bar = document.getElementById("migration-progress");
  var text = document.getElementById("migration-progress-text");
  var reason = document.getElementById("migration-reason");
  var stale = document.getElementById("people-stale");
  var loaded = JSON.stringify(JSON.parse(root.getAttribute("data-counts")));
  var every = 2000;

  function show(status) {
    bar.max = Math.max(status.total, 1);
    bar.value = status.finished;
    bar.textContent = status.progressText;
    text.textContent = status.progressText;
    reason.hidden = !status.reasonText;
    reason.textContent = status.reasonText || "";
    Object.keys(status.countsText).forEach(function (group) {
      var line = root.querySelector('[data-group="' + group + '"]');
      if (!line) { return; }
      line.hidden = status.counts[group] === 0;
      line.querySelector("[data-count]").textContent = status.countsText[group];
    });
    if (stale && JSON.stringify(status.counts) !== loaded) { stale.hidden = false; }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status && status.state !== shownState) {
          window.location.replace(page);
          return;
        }
        if (status) { show(status); }
        if (!status || status.open) { window.setTimeout(poll, every); }
      })
      .catch(function () { window.setTimeout(poll, every); });
  }

  if (root.getAttribute("data-open") === "true") { window.setTimeout(poll, every); }
})();
