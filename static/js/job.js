/* The job page, live: poll the job's progress (JSON) and update the counters, the bar and the rows that changed.
   Each poll sends the cursor the last answer gave (?since=); the answer carries the counts and only the items
   changed since then among the rows this page shows (?items=, their ids), each as its rendered row, which
   replaces the row with the same id.
   Without JavaScript the page refreshes itself (a <noscript> meta refresh) and shows the same facts. */
(function () {
  "use strict";

  var section = document.getElementById("job");
  if (!section || !window.fetch || section.hasAttribute("data-waiting")) {
    return;  // a change waiting for an approver or its time: nothing moves until it starts
  }
  var url = section.getAttribute("data-progress-url");
  var cursor = section.getAttribute("data-cursor") || "";
  var svgNS = "http://www.w3.org/2000/svg";
  var note = document.getElementById("no-js-note");
  if (note) {
    note.hidden = true;
  }

  function setText(element, text) {
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function renderBar(data) {
    var bar = document.getElementById("job-bar");
    var svg = bar.querySelector("svg");
    bar.setAttribute("aria-valuemax", String(data.total));
    bar.setAttribute("aria-valuenow", String(data.done));
    bar.setAttribute("data-total", String(data.total));
    bar.setAttribute("data-done", String(data.done));
    bar.setAttribute("aria-valuetext", interpolate(gettext("%(done)s of %(total)s done, %(failed)s failed"),
      { done: data.done, total: data.total, failed: data.boxes.failed }, true));
    while (svg.firstChild) {
      svg.removeChild(svg.firstChild);
    }
    data.segments.forEach(function (segment) {
      var rect = document.createElementNS(svgNS, "rect");
      rect.setAttribute("class", "seg seg-" + segment.box);
      rect.setAttribute("data-box", segment.box);
      rect.setAttribute("x", segment.x + "%");
      rect.setAttribute("width", segment.width + "%");
      rect.setAttribute("y", "0");
      rect.setAttribute("height", "100%");
      svg.appendChild(rect);
    });
  }

  function renderRows(items) {
    var tbody = section.querySelector("#job-items tbody");
    var template = document.createElement("template");
    items.forEach(function (item) {
      var row = tbody.querySelector('tr[data-item="' + item.id + '"]');
      template.innerHTML = item.html.trim();
      var fresh = template.content.firstElementChild;
      if (!fresh) {
        return;
      }
      if (row && row.outerHTML !== fresh.outerHTML) { // (a row of another page or state is not shown here)
        tbody.replaceChild(fresh, row);
      }
    });
  }

  function render(data) {
    Object.keys(data.boxes).forEach(function (box) {
      var count = section.querySelector('#job-counts [data-count="' + box + '"]');
      setText(count, String(data.boxes[box]));
      var optional = count && count.closest("[data-box-optional]");
      if (optional) {
        optional.hidden = !data.boxes[box];
      }
    });
    setText(section.querySelector("[data-waiting-until]"), data.waiting_label
      ? " " + interpolate(gettext("until %(time)s"), { time: data.waiting_label }, true) : "");
    renderBar(data);
    var status = data.finished ? (data.cancelled ? gettext("Cancelled.") : gettext("Finished."))
      : interpolate(gettext("Running: %(done)s of %(total)s done."), { done: data.done, total: data.total }, true);
    setText(document.getElementById("job-status"), status);
    if (data.finished) {
      var cancel = document.getElementById("cancel-form");
      if (cancel) {
        cancel.hidden = true;
      }
      var retry = document.getElementById("retry-form");
      if (retry) {
        setText(retry.querySelector("[data-retry-count]"), String(data.counts.failed));
        retry.hidden = !data.counts.failed;
      }
    }
    renderRows(data.items);
    section.setAttribute("data-finished", data.finished ? "true" : "false");
    return data.finished;
  }

  function poll() {
    var params = [];
    if (cursor) {
      params.push("since=" + encodeURIComponent(cursor));
    }
    var rows = section.querySelectorAll("#job-items tbody tr[data-item]");
    if (rows.length) { // only the rows this page shows
      params.push("items=" + Array.prototype.map.call(rows, function (row) {
        return row.getAttribute("data-item");
      }).join("."));
    }
    var target = url + (params.length ? "?" + params.join("&") : "");
    fetch(target, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        cursor = data.cursor || cursor;
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
