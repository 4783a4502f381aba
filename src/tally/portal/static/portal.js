// The customer portal's small enhancements; every page works without them.
// - usage graph: a tooltip with the date, metric and quantity of the dot under the pointer
//   (the dots' <title> already gives the browser's own tooltip);
// - billing period picker: shows the chosen period as soon as it is picked.
(function () {
  "use strict";

  function tooltips() {
    document.querySelectorAll("figure.chart").forEach(function (figure) {
      var tip = document.createElement("div");
      tip.className = "tooltip";
      tip.setAttribute("role", "status");
      tip.hidden = true;
      figure.appendChild(tip);
      figure.addEventListener("mouseover", function (event) {
        var dot = event.target.closest ? event.target.closest("[data-tip]") : null;
        if (!dot) { return; }
        var box = figure.getBoundingClientRect();
        var at = dot.getBoundingClientRect();
        tip.textContent = dot.getAttribute("data-tip");
        tip.style.left = (at.left + at.width / 2 - box.left) + "px";
        tip.style.top = (at.top - box.top) + "px";
        tip.hidden = false;
      });
      figure.addEventListener("mouseout", function (event) {
        if (event.target.closest && event.target.closest("[data-tip]")) { tip.hidden = true; }
      });
    });
  }

  function periodPicker() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.form) { select.form.classList.add("js-ready"); }
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function start() { tooltips(); periodPicker(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
