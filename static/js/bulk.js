/* Bulk edit: typing a value ticks its "Set the …" box (a value typed into an unticked field would
   otherwise be ignored). Unticking afterwards is respected. Without JavaScript the server does the
   same when no box is ticked at all (rollout/views.py BulkForm.clean). */
(function () {
  "use strict";
  document.querySelectorAll("input[data-ticks]").forEach(function (input) {
    var box = document.getElementById(input.getAttribute("data-ticks"));
    if (!box) {
      return;
    }
    function tick() {
      if (input.value.trim() !== "") {
        box.checked = true;
      }
    }
    input.addEventListener("input", tick);
    // Typed before this script ran (it is deferred): the value differs from the one the page came with.
    if (input.value !== input.defaultValue) {
      tick();
    }
  });
})();
