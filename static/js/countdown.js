/*
 * Live countdown for "the next change is possible at HH:MM:SS (in N s)".
 * Progressive enhancement: without it the page still states the time. It counts the
 * seconds the server gave (not the browser's clock, which may be off) and, at zero,
 * says so; the server still decides whether a save is allowed.
 */
(function () {
  "use strict";

  // The same words as contactcards/durations.py: "45 s", "9 min 55 s", "2 h 5 min".
  var UNITS = [[pgettext("time unit", "d"), 86400], [pgettext("time unit", "h"), 3600],
               [pgettext("time unit", "min"), 60], [pgettext("time unit", "s"), 1]];
  function duration(seconds) {
    if (seconds < 60) {
      return seconds + " " + UNITS[3][0];
    }
    for (var i = 0; i < UNITS.length - 1; i++) {
      if (seconds >= UNITS[i][1]) {
        var major = Math.floor(seconds / UNITS[i][1]);
        var minor = Math.floor((seconds % UNITS[i][1]) / UNITS[i + 1][1]);
        return major + " " + UNITS[i][0] + (minor ? " " + minor + " " + UNITS[i + 1][0] : "");
      }
    }
    return seconds + " " + UNITS[3][0];
  }
  function format(seconds) {
    return interpolate(gettext("in %(duration)s"), { duration: duration(seconds) }, true);
  }

  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var total = parseInt(el.getAttribute("data-countdown"), 10);
    if (!(total > 0)) {
      return;
    }
    var started = Date.now();
    var timer = setInterval(function () {
      var left = total - Math.floor((Date.now() - started) / 1000);
      if (left <= 0) {
        clearInterval(timer);
        el.closest(".budget").setAttribute("role", "status"); // announce the end once, not every second
        el.textContent = gettext("now: you can save again");
        // Save was off only because of the wait: switch it back on (the server still decides).
        document.querySelectorAll("[data-budget-locked]").forEach(function (button) {
          button.disabled = false;
          button.removeAttribute("data-budget-locked");
        });
        document.querySelectorAll("[data-budget-reason]").forEach(function (reason) {
          reason.hidden = true;
        });
        return;
      }
      el.textContent = format(left);
    }, 1000);
  });
})();
