/*
 * Live countdown for "the next change is possible at HH:MM:SS (in N s)".
 * Progressive enhancement: without it the page still states the time. It counts the
 * seconds the server gave (not the browser's clock, which may be off) and, at zero,
 * says so; the server still decides whether a save is allowed.
 */
(function () {
  "use strict";

  function format(seconds) {
    if (seconds < 90) {
      return "in " + seconds + " s";
    }
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return "in " + minutes + " min " + (rest < 10 ? "0" : "") + rest + " s";
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
        el.textContent = "now: you can save again";
        return;
      }
      el.textContent = format(left);
    }, 1000);
  });
})();
