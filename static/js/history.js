/* The history's number filter: type part of a number or of its label, pick one of the team's numbers
   from the suggestions (at most 20, from numbers.json). Without this script the field is a plain text
   input: the number or its label is checked when the form is submitted. A combobox in the ARIA sense:
   arrows move through the list, Enter picks, Escape closes. */
(function () {
  "use strict";

  var input = document.getElementById("id_number");
  var url = input && input.getAttribute("data-suggest");
  if (!input || !url) {
    return;
  }
  var list = document.createElement("ul");
  list.id = "number-suggestions";
  list.className = "suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", gettext("Numbers of this team"));
  list.hidden = true;
  input.parentNode.appendChild(list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");

  var numbers = [];
  var active = -1;
  var asked = 0; // the newest search: older answers that arrive late are dropped
  var timer = null;

  function close() {
    numbers = [];
    active = -1;
    list.hidden = true;
    list.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    var options = list.querySelectorAll('[role="option"]');
    active = index;
    for (var i = 0; i < options.length; i += 1) {
      options[i].setAttribute("aria-selected", i === index ? "true" : "false");
    }
    if (index >= 0 && options[index]) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function pick(index) {
    if (index >= 0 && index < numbers.length) {
      input.value = numbers[index].e164;
      close();
    }
  }

  function show(found) {
    numbers = found;
    active = -1;
    list.textContent = "";
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "suggestions-none";
      none.textContent = gettext("No number of this team matches.");
      list.appendChild(none);
    }
    for (var i = 0; i < found.length; i += 1) {
      var option = document.createElement("li");
      option.id = "number-suggestion-" + i;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-index", String(i));
      var e164 = document.createElement("span");
      e164.className = "mono";
      e164.textContent = found[i].e164;
      option.appendChild(e164);
      if (found[i].label) {
        var label = document.createElement("span");
        label.className = "suggestion-label";
        label.textContent = found[i].label;
        option.appendChild(label);
      }
      list.appendChild(option);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function search() {
    var text = input.value.trim();
    asked += 1;
    var mine = asked;
    if (!text) {
      close();
      return;
    }
    fetch(url + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        if (mine === asked && document.activeElement === input) {
          show(data.numbers || []);
        }
      })
      .catch(function () {
        if (mine === asked) {
          close(); // the field still works as typed: the form checks it on submit
        }
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 120);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (list.hidden) {
        search();
        return;
      }
      if (numbers.length) {
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + numbers.length) % numbers.length);
      }
      event.preventDefault();
    } else if (event.key === "Enter" && !list.hidden && active >= 0) {
      event.preventDefault(); // pick, do not submit yet
      pick(active);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      close();
    }
  });
  // mousedown, not click: the input must not lose focus (and close the list) before the pick
  list.addEventListener("mousedown", function (event) {
    var option = event.target.closest('[role="option"]');
    event.preventDefault();
    if (option) {
      pick(parseInt(option.getAttribute("data-index"), 10));
    }
  });
  input.addEventListener("blur", close);
})();
