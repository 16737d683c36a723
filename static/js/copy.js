/* linqadmin: "Copy link" buttons (data-copy holds the text). Hidden without this script or a clipboard. */
(function () {
  "use strict";
  if (!navigator.clipboard) {
    return;
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      var absolute = new URL(text, window.location.href).href;
      navigator.clipboard.writeText(absolute).then(function () {
        button.textContent = gettext("Link copied");
      }, function () {
        button.textContent = gettext("Could not copy the link");
      });
    });
  });
})();
