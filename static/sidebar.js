/* desk — the order sidebar's keys and deadlines (templates/sidebar/).
 *
 * y  approve (or confirm receipt) the first after-sale waiting for the merchant — the form
 *    carries the return address bound to its SKU, already chosen;
 * x  open the reject form of that after-sale and put the cursor on its reasons;
 * f  put the cursor in the order search box.
 * Keys are ignored while typing, like the workbench's own (static/desk.js). No inline script:
 * the Content-Security-Policy forbids it.
 */
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function sidebar() { return $("[data-sidebar]"); }

  function submitAction(name) {
    var button = $('[data-sb-action="' + name + '"]', sidebar());
    if (!button) return false;
    var form = button.form;
    if (form) {
      if (form.classList.contains("htmx-request")) return true; // a second y sends nothing more
      if (typeof form.requestSubmit === "function") form.requestSubmit(button); else form.submit();
    } else {
      button.click();
    }
    return true;
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = $("#shortcuts");
    if (dialog && dialog.open) return;
    if (!sidebar()) return;
    if (event.key === "y") { if (submitAction("approve")) event.preventDefault(); }
    else if (event.key === "x") { if (submitAction("reject")) event.preventDefault(); }
    else if (event.key === "f") {
      var box = $("[data-sb-find]", sidebar());
      if (box) { event.preventDefault(); box.focus(); }
    }
  }

  function onClick(event) {
    var cancel = event.target.closest && event.target.closest("[data-sb-cancel]");
    if (!cancel) return;
    var slot = cancel.closest(".sb-reject");
    if (slot) slot.innerHTML = "";
  }

  /* The reject form arrives by htmx: put the cursor on its reasons. */
  function onSwap(event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.classList || !target.classList.contains("sb-reject")) return;
    var select = $("[data-sb-reject-reason]", target);
    if (select) select.focus();
  }

  /* A live refresh redraws the whole sidebar: never while the agent is writing in it (a note, a
   * reject reason) — the refresh waits until they leave it, so nothing typed is lost. */
  var refreshWaiting = false;

  function busyInSidebar(bar) {
    var active = document.activeElement;
    if (active && bar.contains(active) && typing(active)) return true;
    return $all(".sb-reject", bar).some(function (slot) { return slot.children.length > 0; });
  }

  function onBeforeRequest(event) {
    var bar = sidebar();
    var detail = event.detail || {};
    if (!bar || detail.elt !== bar || !detail.requestConfig || detail.requestConfig.verb !== "get") return;
    if (busyInSidebar(bar)) { event.preventDefault(); refreshWaiting = true; }
  }

  function onFocusOut() {
    window.setTimeout(function () {
      var bar = sidebar();
      if (!refreshWaiting || !bar || busyInSidebar(bar) || !window.htmx) return;
      refreshWaiting = false;
      window.htmx.trigger(bar, "desk:poll");
    }, 0);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* The platform's deadline, counting down (hours:minutes:seconds). */
  function tick() {
    var now = Date.now();
    $all("[data-sb-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("data-sb-deadline")) - now) / 1000);
      if (left < 0) {
        el.textContent = el.getAttribute("data-missed");
        el.classList.add("is-missed");
        return;
      }
      var text = Math.floor(left / 3600) + ":" + pad(Math.floor(left % 3600 / 60)) + ":" + pad(left % 60);
      el.textContent = (el.getAttribute("data-left") || "{t}").replace("{t}", text);
      el.classList.toggle("is-near", left < 7200);
    });
  }

  function start() {
    document.addEventListener("keydown", onKey);
    document.body.addEventListener("htmx:afterSwap", onSwap);
    document.body.addEventListener("htmx:beforeRequest", onBeforeRequest);
    document.addEventListener("focusout", onFocusOut);
    document.addEventListener("click", onClick);
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
