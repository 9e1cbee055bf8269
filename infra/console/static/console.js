// orderledger console: the little the pages need a script for. Everything works without it.
(function () {
  "use strict";
  // Live countdowns to a capture's due time.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      if (isNaN(left)) return;
      if (left <= 0) { el.textContent = "due now"; return; }
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = "in " + m + " min " + (s < 10 ? "0" : "") + s + " s";
    });
  }
  // A running task's page follows its progress.
  function follow() {
    var job = document.querySelector("[data-reload]");
    if (job) setTimeout(function () { window.location.reload(); }, 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    follow();
  });
})();
