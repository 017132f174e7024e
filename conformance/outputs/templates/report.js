// Filtering, per-area collapse and cell details without a server: the page is a static file.
(function () {
  "use strict";
  var q = document.getElementById("q");
  var onlyBad = document.getElementById("only-bad");
  var shown = document.getElementById("shown");
  var collapsed = {};

  function specRows() { return document.querySelectorAll("tr.spec"); }

  function apply() {
    var text = q.value.trim().toLowerCase();
    var visible = 0, perArea = {};
    specRows().forEach(function (tr) {
      var area = tr.getAttribute("data-area");
      var match = (!onlyBad.checked || tr.classList.contains("bad")) &&
                  (!text || tr.getAttribute("data-text").indexOf(text) >= 0);
      var hide = !match || collapsed[area] === true;
      tr.hidden = hide;
      var detail = document.getElementById(tr.id + "-d");
      if (detail && hide) { detail.hidden = true; }
      if (match) { perArea[area] = (perArea[area] || 0) + 1; }
      if (!hide) { visible += 1; }
    });
    document.querySelectorAll("tr.area").forEach(function (tr) {
      var area = tr.getAttribute("data-area");
      tr.hidden = !perArea[area];  // an area with no matching spec disappears; a collapsed one stays
      var b = tr.querySelector("button");
      b.setAttribute("aria-expanded", collapsed[area] ? "false" : "true");
      b.firstChild.textContent = collapsed[area] ? "\u25b8 " : "\u25be ";
    });
    shown.textContent = String(visible);
  }

  function openDetail(id) {
    var section = document.getElementById(id);
    if (!section) { return; }
    var row = section.closest("tr.detail");
    var same = section.classList.contains("target") && !row.hidden;
    document.querySelectorAll("section.cd.target").forEach(function (s) { s.classList.remove("target"); });
    if (same) { row.hidden = true; return; }
    row.hidden = false;
    section.classList.add("target");
    section.scrollIntoView({block: "nearest"});
  }

  function copyText(pre, button) {
    var text = pre.textContent;
    function done() { button.textContent = "copied"; }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(pre);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { document.execCommand("copy"); done(); } catch (e) { button.textContent = "select and copy"; }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target.closest("button");
    if (!t) { return; }
    if (t.hasAttribute("data-d")) {
      openDetail(t.getAttribute("data-d"));
    } else if (t.hasAttribute("data-area")) {
      var area = t.getAttribute("data-area");
      collapsed[area] = !collapsed[area];
      apply();
    } else if (t.id === "collapse-all" || t.id === "expand-all") {
      document.querySelectorAll("tr.area").forEach(function (tr) {
        collapsed[tr.getAttribute("data-area")] = t.id === "collapse-all";
      });
      apply();
    } else if (t.classList.contains("copy")) {
      copyText(document.getElementById(t.getAttribute("data-copy")), t);
    }
  });
  q.addEventListener("input", apply);
  onlyBad.addEventListener("change", apply);
  apply();
})();
