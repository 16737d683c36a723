/*
 * Photos: a square crop box over a chosen file, the live link check, and picking from the library.
 * Every part is an enhancement: without JS the server crops the middle square, checks the link
 * when the form is saved, and the library picker is a plain choice that the server resolves.
 * No inline code or styles (the pages' CSP forbids them): positions are set through CSSOM.
 */
(function () {
  "use strict";

  // -- crop box ---------------------------------------------------------------------------

  function setupCropper(container) {
    var input = container.querySelector("input[type=file][data-photo-input]");
    var cropper = container.querySelector("[data-cropper]");
    if (!input || !cropper) {
      return;
    }
    var stage = cropper.querySelector("[data-crop-stage]");
    var image = cropper.querySelector("[data-crop-image]");
    var box = cropper.querySelector("[data-crop-box]");
    var handle = cropper.querySelector("[data-crop-handle]");
    var summary = cropper.querySelector("[data-crop-summary]");
    var form = input.form;
    var fields = {
      left: form.elements.crop_left,
      top: form.elements.crop_top,
      side: form.elements.crop_side,
    };
    // The crop in the image's own pixels (what the server uses) and the display scale.
    var crop = { left: 0, top: 0, side: 0 };
    var natural = { width: 0, height: 0 };

    function scale() {
      return image.clientWidth ? natural.width / image.clientWidth : 1;
    }

    function clamp() {
      var minSide = Math.max(1, Math.round(Math.min(natural.width, natural.height) / 20));
      crop.side = Math.round(Math.max(minSide, Math.min(crop.side, natural.width, natural.height)));
      crop.left = Math.round(Math.max(0, Math.min(crop.left, natural.width - crop.side)));
      crop.top = Math.round(Math.max(0, Math.min(crop.top, natural.height - crop.side)));
    }

    function render() {
      clamp();
      var s = scale();
      box.style.left = crop.left / s + "px";
      box.style.top = crop.top / s + "px";
      box.style.width = crop.side / s + "px";
      box.style.height = crop.side / s + "px";
      fields.left.value = crop.left;
      fields.top.value = crop.top;
      fields.side.value = crop.side;
      var text = interpolate(gettext("Square of %(side)sx%(side)s pixels from %(width)sx%(height)s, at %(left)s,%(top)s."),
        { side: crop.side, width: natural.width, height: natural.height, left: crop.left, top: crop.top }, true);
      if (crop.side < 600) {
        text += " " + gettext("Smaller than 600x600: it will be enlarged and may look blurry.");
      }
      summary.textContent = text;
      box.setAttribute("aria-valuetext", text);
    }

    function reset() {
      fields.left.value = fields.top.value = fields.side.value = "";
      cropper.hidden = true;
      image.removeAttribute("src");
    }

    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file || !/^image\/(jpeg|png)$/.test(file.type)) {
        reset();
        return;
      }
      var reader = new FileReader();
      reader.addEventListener("load", function () {
        image.addEventListener("load", function onload() {
          image.removeEventListener("load", onload);
          natural.width = image.naturalWidth;
          natural.height = image.naturalHeight;
          var side = Math.min(natural.width, natural.height);
          crop = { left: (natural.width - side) / 2, top: (natural.height - side) / 2, side: side };
          cropper.hidden = false;
          render();
          container.dispatchEvent(new CustomEvent("photo:chosen", { bubbles: true, detail: { dataUrl: reader.result } }));
        });
        image.src = reader.result; // a data: URL (allowed by the CSP's img-src)
      });
      reader.readAsDataURL(file);
    });

    var drag = null;
    function start(event, mode) {
      event.preventDefault();
      event.stopPropagation();
      drag = { mode: mode, x: event.clientX, y: event.clientY, from: { left: crop.left, top: crop.top, side: crop.side } };
      box.setPointerCapture(event.pointerId);
    }
    box.addEventListener("pointerdown", function (event) {
      start(event, event.target === handle ? "resize" : "move");
    });
    box.addEventListener("pointermove", function (event) {
      if (!drag) {
        return;
      }
      var s = scale();
      var dx = (event.clientX - drag.x) * s;
      var dy = (event.clientY - drag.y) * s;
      if (drag.mode === "move") {
        crop.left = drag.from.left + dx;
        crop.top = drag.from.top + dy;
      } else {
        crop.side = drag.from.side + Math.max(dx, dy);
      }
      render();
    });
    function stop() {
      drag = null;
    }
    box.addEventListener("pointerup", stop);
    box.addEventListener("pointercancel", stop);
    box.addEventListener("keydown", function (event) {
      var step = Math.max(1, Math.round(Math.min(natural.width, natural.height) / (event.shiftKey ? 10 : 50)));
      var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[event.key]) {
        crop.left += moves[event.key][0];
        crop.top += moves[event.key][1];
      } else if (event.key === "+" || event.key === "=") {
        crop.side += step;
      } else if (event.key === "-" || event.key === "\u2212") {
        crop.side -= step;
      } else {
        return;
      }
      event.preventDefault();
      render();
    });
    window.addEventListener("resize", function () {
      if (!cropper.hidden) {
        render();
      }
    });
  }

  document.querySelectorAll("[data-photo-upload]").forEach(setupCropper);

  // -- live link check --------------------------------------------------------------------

  var CHECK_DELAY_MS = 600;

  function setupCheck(form) {
    var endpoint = form.getAttribute("data-photo-check-url");
    var input = form.elements.image_url;
    var out = document.getElementById("photo-check");
    var loaded = form.getAttribute("data-loaded-image-url") || "";
    if (!endpoint || !input || !out) {
      return;
    }
    var timer = null;
    var controller = null;

    function show(text, kind, advice) {
      out.textContent = "";
      out.className = "photo-check photo-check-" + kind;
      var line = document.createElement("p");
      line.textContent = text;
      out.appendChild(line);
      (advice || []).forEach(function (note) {
        var p = document.createElement("p");
        p.className = "photo-check-advice";
        p.textContent = note;
        out.appendChild(p);
      });
    }

    function check() {
      var url = input.value.trim();
      if (controller) {
        controller.abort();
      }
      if (!url || url === loaded) {
        show("", "idle");
        return;
      }
      if (!/^https:\/\/\S+$/i.test(url)) {
        show(gettext("The link must start with https:// (Linq only fetches secure links)."), "refused");
        return;
      }
      controller = new AbortController();
      show(gettext("Checking the link the way Linq will fetch it\u2026"), "pending");
      fetch(endpoint + "?url=" + encodeURIComponent(url), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller.signal,
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (result) {
          if (input.value.trim() !== url) {
            return;
          }
          if (result.ok) {
            var kb = Math.max(1, Math.round(result.bytes / 1000));
            show(interpolate(gettext("Linq can fetch this: %(format)s, %(width)sx%(height)s pixels, %(kb)s kB."),
              { format: result.format, width: result.width, height: result.height, kb: kb }, true),
            result.advice.length ? "advice" : "ok", result.advice);
          } else {
            show(result.message + " " + gettext("Saving will not send it to Linq."), "refused");
          }
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            show(gettext("The link could not be checked now; it will be checked again when you save."), "pending");
          }
        });
    }

    // Only on typing (debounced), not on "change": that fires on blur, i.e. on the mousedown of a
    // click on Save, and a verdict appearing then would move the button from under the pointer.
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, CHECK_DELAY_MS);
    });
    // A link the server refused on save is explained under the field already: say it once.
    if (input.value.trim() && input.value.trim() !== loaded && input.getAttribute("aria-invalid") !== "true") {
      check();
    }

    // A photo from the library fills the link (the preview and the change summary follow it).
    form.querySelectorAll("input[name=library_photo][data-photo-url]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        if (!radio.checked) {
          return;
        }
        input.value = radio.getAttribute("data-photo-url");
        input.dispatchEvent(new Event("input", { bubbles: true }));
        clearTimeout(timer);
        check();
      });
    });
  }

  document.querySelectorAll("form[data-photo-check-url]").forEach(setupCheck);
})();
