// The signing request page: asks the hub every 2 s how the request stands and shows it.
// Every word comes from the hub's answer (already in the page's language).
(function () {
  "use strict";
  var root = document.getElementById("sign-request");
  if (!root) { return; }
  var url = root.getAttribute("data-status-url");
  var bar = document.getElementById("sign-progress");
  var text = document.getElementById("sign-progress-text");
  var state = document.getElementById("sign-state-text");
  var trouble = document.getElementById("sign-trouble");
  var checklist = document.getElementById("sign-checklist");
  var failures = document.getElementById("sign-failures");
  var failureList = document.getElementById("sign-failure-list");
  var itemList = document.getElementById("sign-item-list");

  function item(strong, rest) {
    var li = document.createElement("li");
    var name = document.createElement("strong");
    name.textContent = strong;
    li.appendChild(name);
    li.appendChild(document.createTextNode(rest));
    return li;
  }

  function show(status) {
    bar.max = Math.max(status.total, 1);
    bar.value = status.signed;
    bar.textContent = status.progressText;
    text.textContent = status.progressText;
    state.textContent = status.stateText;
    trouble.hidden = !status.troubleText;
    trouble.textContent = status.troubleText || "";
    checklist.hidden = !status.pending;
    failures.hidden = status.failures.length === 0;
    failureList.replaceChildren.apply(failureList, status.failures.map(function (f) {
      var li = item(f.pupil, " (" + f["class"] + "): ");
      var code = document.createElement("code");
      code.className = "reason-code";
      code.textContent = f.code;
      li.appendChild(code);
      var p = document.createElement("p");
      p.textContent = f.message;
      li.appendChild(p);
      return li;
    }));
    itemList.replaceChildren.apply(itemList, status.items.map(function (i) {
      var li = item(i.pupil, " (" + i["class"] + "): " + i.stateText);
      li.setAttribute("data-transcript", i.transcriptId);
      li.setAttribute("data-state", i.state);
      return li;
    }));
    root.setAttribute("data-state", status.state);
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status) { show(status); }
        if (!status || status.pending) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }

  // A request waiting for the OTP the signer received waits for the form, not the clock;
  // one waiting for their consent at the provider, for the provider to send them back.
  var waitsForSigner = root.hasAttribute("data-awaiting-otp") ||
    root.hasAttribute("data-awaiting-consent");
  if (root.getAttribute("data-state") === "PENDING" && !waitsForSigner) {
    window.setTimeout(poll, 2000);
  }
})();
