/* The dashboard's selection: "N selected" beside the toolbar, and the selection's actions (bulk edit,
   labels and tags) off while nothing is selected. Without this script the form still submits, and
   the pages it leads to say when nothing was selected. */
(function () {
  "use strict";

  var form = document.getElementById("selection");
  var count = document.getElementById("selection-count");
  if (!form || !count) {
    return;
  }
  var all = document.getElementById("select-all-matching");
  var actions = form.querySelectorAll('button[type="submit"]');
  var matching = parseInt(count.getAttribute("data-matching"), 10) || 0;

  function selected() {
    if (all && all.checked) {
      return matching;
    }
    var boxes = document.querySelectorAll('input[type="checkbox"][name="n"][form="selection"]:checked');
    return boxes.length + form.querySelectorAll("input[data-elsewhere]").length;
  }

  function update() {
    var n = selected();
    count.textContent = n ? interpolate(ngettext("%(count)s selected", "%(count)s selected", n), { count: n }, true) : "";
    for (var i = 0; i < actions.length; i += 1) {
      actions[i].disabled = n === 0;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target === all || (target.name === "n" && target.getAttribute("form") === "selection")) {
      update();
    }
  });
  update();
})();
