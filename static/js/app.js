/* linqadmin: behaviour shared by every page. Loaded with `defer`; the pages work without it. */

// The page scripts' words go through Django's JavaScript catalogue (/jsi18n/, loaded just before this
// file by base.html). Should it fail to load, they read in English.
window.gettext = window.gettext || function (text) { return text; };
window.ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
window.pgettext = window.pgettext || function (context, text) { return text; };
window.interpolate = window.interpolate || function (format, values) {
  return format.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
};

(function () {
  "use strict";

  // An error summary or conflict notice (server-rendered, role=alert, tabindex=-1) takes the focus
  // when the page loads, so keyboard and screen-reader users start where the problem is described.
  var summary = document.querySelector('[role="alert"][tabindex="-1"]');
  if (summary) {
    summary.focus();
  }

  // A link in an error summary moves the focus into its field (a plain #anchor only scrolls),
  // and keeps the field's label in view.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-focus-field]") : null;
    if (!link) {
      return;
    }
    var input = document.getElementById(link.getAttribute("data-focus-field"));
    if (!input) {
      return;
    }
    event.preventDefault();
    var label = document.querySelector('label[for="' + input.id + '"]');
    (label || input).scrollIntoView({ block: "center" });
    input.focus({ preventScroll: true });
  });

  // Tell the server this browser's time zone (contactcards/timezones.py): times are shown in it
  // unless the person chose another on the time-zone page. Zone names are plain cookie text.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\/-]{1,64}$/.test(zone) && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) {
    // No Intl support: the server's default zone is used, and shown.
  }
})();
