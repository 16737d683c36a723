/*
 * The card page: a live preview of the card, a summary of what saving will send, and a
 * preview of the photo with a fallback. Everything here is an enhancement: without it the
 * server-rendered preview and the server's own "nothing changed" message still work.
 */
(function () {
  "use strict";

  var FIELDS = [
    { name: "first_name", label: gettext("first name"), data: "loadedFirstName" },
    { name: "last_name", label: gettext("last name"), data: "loadedLastName" },
    { name: "image_url", label: gettext("photo"), data: "loadedImageUrl" },
  ];
  var IMAGE_DELAY_MS = 350; // wait for a pause in typing before fetching a half-typed link
  var UNLOADABLE = gettext("The image could not be loaded from this link; the initials are shown instead.");

  // A photo that cannot be loaded in the current-card block falls back to the initials.
  document.querySelectorAll("img[data-initials]").forEach(function (img) {
    function fallback() {
      var span = document.createElement("span");
      span.className = "avatar avatar-empty";
      span.setAttribute("aria-hidden", "true");
      span.textContent = img.getAttribute("data-initials");
      img.replaceWith(span);
    }
    if (img.complete && img.naturalWidth === 0) {
      fallback();
    } else {
      img.addEventListener("error", fallback);
    }
  });

  var form = document.querySelector("form[data-card-form]");
  if (!form) {
    return;
  }
  var creating = form.dataset.mode === "create";
  var loaded = {};
  FIELDS.forEach(function (field) {
    loaded[field.name] = form.dataset[field.data] || "";
  });

  var els = {
    name: document.getElementById("preview-name"),
    initials: document.getElementById("preview-initials"),
    image: document.getElementById("preview-image"),
    note: document.getElementById("preview-image-note"),
    summary: document.getElementById("change-summary"),
    button: document.getElementById("save-button"),
  };
  var buttonLabel = els.button ? els.button.textContent : "";

  function value(name) {
    var input = form.elements[name];
    return input ? input.value.trim() : "";
  }

  function initials() {
    return (value("first_name").charAt(0) + value("last_name").charAt(0)).toUpperCase();
  }

  // An uploaded file (issue 14, photos.js) replaces the photo whatever the link says.
  function fileChosen() {
    var input = form.elements.photo;
    return Boolean(input && input.files && input.files.length);
  }

  function changedLabels() {
    return FIELDS.filter(function (field) {
      return value(field.name) !== loaded[field.name] || (field.name === "image_url" && fileChosen());
    }).map(function (field) {
      return field.label;
    });
  }

  function describeChanges() {
    var changed = changedLabels();
    if (creating) {
      return changed.length
        ? interpolate(gettext("Creating the card sends: %(fields)s."), { fields: changed.join(", ") }, true)
        : "";
    }
    if (!changed.length) {
      return gettext("No changes: saving sends nothing.");
    }
    return interpolate(ngettext("%(count)s field will change: %(fields)s.", "%(count)s fields will change: %(fields)s.",
      changed.length), { count: changed.length, fields: changed.join(", ") }, true);
  }

  function updateSummary() {
    if (!els.summary) {
      return;
    }
    var text = describeChanges();
    els.summary.hidden = !text;
    if (els.summary.textContent !== text) {
      els.summary.textContent = text;
    }
    var noop = !creating && changedLabels().length === 0;
    els.summary.classList.toggle("change-summary-none", noop);
    if (els.button) {
      // The button stays enabled: a disabled button drops out of the tab order and gives no
      // reason, while pressing it now gets the server's "nothing was sent" confirmation.
      els.button.classList.toggle("noop", noop);
      els.button.textContent = noop ? gettext("Save (no changes)") : buttonLabel;
      els.button.setAttribute("aria-describedby", "change-summary");
    }
  }

  function updateName() {
    var name = (value("first_name") + " " + value("last_name")).trim();
    els.name.textContent = name || gettext("No name yet");
    els.name.classList.toggle("bubble-name-empty", !name);
    els.initials.textContent = initials() || "?";
  }

  // -- the photo ------------------------------------------------------------

  var imageTimer = null;

  function showPhoto(visible, note) {
    els.image.hidden = !visible;
    els.note.textContent = note || "";
    els.note.classList.toggle("image-note-problem", Boolean(note));
  }

  function previewable(url) {
    // New links must be https (the server and Linq insist); the link Linq returned may be its own.
    return /^https:\/\/\S+$/i.test(url) || (url === loaded.image_url && /^http:\/\/\S+$/i.test(url));
  }

  function updatePhoto() {
    if (fileChosen()) {
      return; // the chosen file is previewed (see "photo:chosen" below)
    }
    var url = value("image_url");
    if (!url) {
      els.image.removeAttribute("src");
      showPhoto(false, loaded.image_url && !creating
        ? gettext("Linq's API cannot remove a photo: paste a new link, or keep the current one.")
        : "");
      return;
    }
    if (!previewable(url)) {
      els.image.removeAttribute("src");
      showPhoto(false, gettext("No preview: the link must start with https://."));
      return;
    }
    if (els.image.getAttribute("src") === url) {
      if (els.image.complete) { // settled before this script ran: its load/error event is gone
        if (els.image.naturalWidth > 0) {
          showPhoto(true, "");
        } else {
          showPhoto(false, UNLOADABLE);
        }
      }
      return;
    }
    els.image.setAttribute("src", url);
  }

  els.image.addEventListener("load", function () {
    if (els.image.getAttribute("src") === value("image_url")) {
      showPhoto(true, "");
    }
  });
  els.image.addEventListener("error", function () {
    if (els.image.getAttribute("src") === value("image_url")) {
      showPhoto(false, UNLOADABLE);
    }
  });

  // -- wiring ---------------------------------------------------------------

  form.addEventListener("input", function (event) {
    updateName();
    updateSummary();
    if (event.target.name === "image_url") {
      clearTimeout(imageTimer);
      imageTimer = setTimeout(updatePhoto, IMAGE_DELAY_MS);
    }
  });

  // The chosen file, previewed from a data: URL (the CSP allows those for images).
  form.addEventListener("photo:chosen", function (event) {
    els.image.setAttribute("src", event.detail.dataUrl);
    showPhoto(true, "");
    updateSummary();
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "photo") {
      updateSummary();
      if (!fileChosen()) {
        updatePhoto();
      }
    }
  });

  updateName();
  updateSummary();
  updatePhoto();
})();
