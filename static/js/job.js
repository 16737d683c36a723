/* The job page, live: poll the job's progress (JSON) and update the counts, the bar and each item's row.
   Without JavaScript the page refreshes itself (a <noscript> meta refresh) and shows the same facts. */
(function () {
  "use strict";

  var section = document.getElementById("job");
  if (!section || !window.fetch) {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var note = document.getElementById("no-js-note");
  if (note) {
    note.hidden = true;
  }

  function setText(element, text) {
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function render(data) {
    Object.keys(data.counts).forEach(function (state) {
      setText(section.querySelector('[data-count="' + state + '"]'), String(data.counts[state]));
    });
    setText(section.querySelector('[data-count="active"]'), String(data.active));
    setText(section.querySelector('[data-count="pending"]'), String(data.pending));
    setText(section.querySelector("[data-waiting-until]"), data.waiting_label
      ? " " + interpolate(gettext("until %(time)s"), { time: data.waiting_label }, true) : "");
    var bar = document.getElementById("job-bar");
    bar.max = data.total;
    bar.value = data.done;
    bar.textContent = data.percent + "%";
    var status = data.finished ? (data.cancelled ? gettext("Cancelled.") : gettext("Finished."))
      : interpolate(gettext("Running: %(done)s of %(total)s done."), { done: data.done, total: data.total }, true);
    setText(document.getElementById("job-status"), status);
    if (data.finished) {
      var cancel = document.getElementById("cancel-form");
      if (cancel) {
        cancel.hidden = true;
      }
    }
    data.items.forEach(function (item) {
      var row = section.querySelector('tr[data-item="' + item.id + '"]');
      if (!row) {
        return;
      }
      var state = row.querySelector("[data-state]");
      state.className = "state-" + item.state;
      setText(state, item.state_label);
      var detail = row.querySelector("[data-detail]");
      var current = detail.getAttribute("data-key");
      var key = item.reason + "|" + item.entry_url;
      if (current !== key) {
        detail.setAttribute("data-key", key);
        detail.textContent = item.reason + (item.entry_url ? " " : "");
        if (item.entry_url) {
          var link = document.createElement("a");
          link.href = item.entry_url;
          link.textContent = gettext("history entry");
          detail.appendChild(link);
        }
      }
    });
    section.setAttribute("data-finished", data.finished ? "true" : "false");
    return data.finished;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        if (!render(data)) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000); // a blip (server restarting): try again, less often
      });
  }

  poll();
})();
