/* desk — the workbench's behaviour: keyboard, countdowns, live updates, the composer.
 *
 * Everything here enhances pages that work without it: links are links, forms are forms. Loaded
 * with `defer` on every page; each part looks for its elements and does nothing when absent. No
 * inline scripts anywhere (the Content-Security-Policy forbids them), no eval.
 */
(function () {
  "use strict";

  var POLL_MS = 10000;
  var lastEventId = "";
  var pollTimer = null;
  var skewMs = 0; // server clock minus browser clock, so countdowns agree with the server

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function inbox() { return $("[data-inbox]"); }

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  /* -- countdowns --------------------------------------------------------------------------------- */

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var now = Date.now() + skewMs;
    $all("[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("data-deadline")) - now) / 1000);
      var abs = Math.abs(left);
      var text = Math.floor(abs / 60) + ":" + pad(abs % 60);
      var template = left >= 0 ? el.getAttribute("data-left") : el.getAttribute("data-missed");
      el.textContent = (template || "{t}").replace("{t}", text);
      var urgency = left <= 0 ? "missed" : left <= 80 ? "warning" : "calm";
      el.classList.remove("urgency-calm", "urgency-warning", "urgency-missed");
      el.classList.add("urgency-" + urgency);
      var row = el.closest(".queue-row");
      if (row) {
        row.classList.remove("urgency-calm", "urgency-warning", "urgency-missed");
        row.classList.add("urgency-" + urgency);
      }
    });
  }

  /* -- the queue cursor (j / k / Enter) ------------------------------------------------------------ */

  var cursorId = null;

  function rows() { return $all(".queue-row"); }

  function openId() {
    var thread = $("[data-conversation-id]");
    return thread ? thread.getAttribute("data-conversation-id") : null;
  }

  function markRows() {
    var open = openId();
    var found = false;
    rows().forEach(function (row) {
      var id = row.getAttribute("data-id");
      row.classList.toggle("is-open", id === open);
      var link = row.querySelector(".queue-link");
      if (link) {
        if (id === open) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current");
      }
      var here = id === cursorId;
      row.classList.toggle("is-cursor", here);
      found = found || here;
    });
    if (!found) cursorId = null;
  }

  function moveCursor(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.findIndex(function (row) { return row.getAttribute("data-id") === (cursorId || openId()); });
    index = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, index + step));
    cursorId = all[index].getAttribute("data-id");
    markRows();
    all[index].scrollIntoView({ block: "nearest" });
    var link = all[index].querySelector(".queue-link");
    if (link) link.focus({ preventScroll: true });
  }

  function openCursor() {
    var row = cursorId ? $('.queue-row[data-id="' + cursorId + '"]') : null;
    var link = row && row.querySelector(".queue-link");
    if (link) link.click();
  }

  /* -- the composer -------------------------------------------------------------------------------- */

  function composer() { return $("[data-composer]"); }

  function onComposerKey(event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-composer]")) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      // Enter sends; Shift+Enter is a new line; Enter that confirms a Chinese IME choice is neither.
      event.preventDefault();
      var form = box.form;
      if (!form || form.classList.contains("htmx-request")) return; // a double Enter sends once
      if (!checkMissing(box)) return;
      if (typeof form.requestSubmit === "function") form.requestSubmit(); else form.submit();
    } else if (event.key === "/" && box.value === "" && !event.isComposing) {
      event.preventDefault();
      openPicker();
    } else if (event.key === "Escape") {
      box.blur();
    }
  }

  function focusComposer() {
    var box = composer();
    if (box) { box.focus(); box.setSelectionRange(box.value.length, box.value.length); }
  }

  function onNoteToggle(event) {
    if (!event.target.matches("[data-note-toggle]")) return;
    var form = event.target.form;
    var box = form && form.querySelector("[data-composer]");
    if (!box) return;
    var wrapper = form.closest(".composer");
    if (wrapper) wrapper.classList.toggle("is-note", event.target.checked);
    if (!box.getAttribute("data-reply-placeholder")) box.setAttribute("data-reply-placeholder", box.placeholder);
    box.placeholder = event.target.checked ? box.getAttribute("data-note-placeholder") : box.getAttribute("data-reply-placeholder");
  }

  /* -- quick replies picker: the list comes from the server, already filled for the buyer ------- */

  function pickerBox() { return $("#quick-picker-slot"); }

  function openPicker() {
    var box = pickerBox();
    if (!box || !window.htmx) return;
    var search = $("#quick-picker-q", box);
    box.hidden = false;
    if (search) {
      search.value = "";
      search.focus();
      window.htmx.trigger(search, "desk:open-picker");
    }
  }

  function pickerOptions() { return $all("#quick-picker [data-insert]"); }

  function focusOption(index) {
    var options = pickerOptions();
    if (!options.length) return;
    var chosen = options[Math.max(0, Math.min(options.length - 1, index))];
    options.forEach(function (o) { o.setAttribute("aria-selected", o === chosen ? "true" : "false"); });
    chosen.focus();
  }

  function closePicker() {
    var box = pickerBox();
    if (box) { box.hidden = true; var results = $("#quick-picker-results", box); if (results) results.innerHTML = ""; }
    focusComposer();
  }

  function choose(option) {
    // Clicking counts the use (the option's hx-post); the filled text goes into the composer.
    option.click();
    var box = composer();
    if (!box) return;
    var text = option.getAttribute("data-insert") || "";
    box.value = box.value ? box.value + text : text;
    closePicker();
    checkMissing(box);
  }

  function onPickerKey(event) {
    var box = event.target.closest && event.target.closest("#quick-picker-slot");
    if (!box) return false;
    var options = pickerOptions();
    var index = options.indexOf(document.activeElement);
    if (event.key === "ArrowDown") { event.preventDefault(); focusOption(index + 1); return true; }
    if (event.key === "ArrowUp") {
      event.preventDefault();
      if (index <= 0) { var search = $("#quick-picker-q", box); if (search) search.focus(); } else focusOption(index - 1);
      return true;
    }
    if (event.key === "Escape") { event.preventDefault(); closePicker(); return true; }
    if (event.key === "Enter" && !event.isComposing) {
      var chosen = index >= 0 ? options[index] : options[0];
      event.preventDefault();
      if (chosen) choose(chosen);
      return true;
    }
    return false;
  }

  function onPickerClick(event) {
    var option = event.target.closest && event.target.closest("#quick-picker [data-insert]");
    if (!option || event.detail === 0) return; // keyboard "clicks" are handled by choose()
    event.preventDefault();
    var box = composer();
    if (box) {
      var text = option.getAttribute("data-insert") || "";
      box.value = box.value ? box.value + text : text;
      closePicker();
      checkMissing(box);
    }
  }

  /* A variable with no value for this buyer stays written as {订单号}: refuse to send it. */
  var VARIABLE = /[{｛]\s*([^{}｛｝\s]{1,20})\s*[}｝]/g;

  function checkMissing(box) {
    var note = $("[data-missing-error]");
    var missing = [];
    var match;
    VARIABLE.lastIndex = 0;
    var known = (box.getAttribute("data-variables") || "").split(",");
    while ((match = VARIABLE.exec(box.value)) !== null) {
      if (known.indexOf(match[1]) >= 0) missing.push(match[0]);
    }
    if (note) {
      note.hidden = missing.length === 0;
      note.textContent = missing.length ? note.getAttribute("data-template").replace("{names}", missing.join("、")) : "";
    }
    return missing.length === 0;
  }

  /* -- keyboard shortcuts -------------------------------------------------------------------------- */

  function clickAction(name) {
    var button = $('[data-action="' + name + '"]');
    if (button) button.click();
  }

  function onKey(event) {
    if (onPickerKey(event)) return;
    if (event.target && event.target.matches && event.target.matches("[data-composer]")) { onComposerKey(event); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = $("#shortcuts");
    if (dialog && dialog.open) return; // Esc closes it natively
    if (!inbox()) return;
    switch (event.key) {
      case "j": event.preventDefault(); moveCursor(1); break;
      case "k": event.preventDefault(); moveCursor(-1); break;
      case "Enter": if (cursorId) { event.preventDefault(); openCursor(); } break;
      case "r": event.preventDefault(); focusComposer(); break;
      case "/": event.preventDefault(); focusComposer(); openPicker(); break;
      case "a": event.preventDefault(); clickAction("claim"); break;
      case "e": event.preventDefault(); clickAction("resolve"); break;
      case "?": event.preventDefault(); if (dialog && dialog.showModal) dialog.showModal(); break;
      default: break;
    }
  }

  /* -- live updates and their fallback ------------------------------------------------------------- */

  function startPolling() {
    var note = $("[data-live-lost]");
    if (note) note.hidden = false;
    if (pollTimer) return;
    pollTimer = window.setInterval(function () {
      $all("[data-poll]").forEach(function (el) { window.htmx.trigger(el, "desk:poll"); });
    }, POLL_MS);
  }

  function stopPolling() {
    var note = $("[data-live-lost]");
    if (note) note.hidden = true;
    if (pollTimer) { window.clearInterval(pollTimer); pollTimer = null; }
  }

  function showToast() {
    var toast = $("[data-toast]");
    if (!toast) return;
    toast.hidden = false;
    window.setTimeout(function () { toast.hidden = true; }, 4000);
  }

  function wireHtmx() {
    var htmx = window.htmx;
    if (!htmx) return;
    // A new EventSource (after the connection was closed for good) does not send Last-Event-ID:
    // carry the last id in the URL so the stream catches up from there.
    var create = htmx.createEventSource;
    htmx.createEventSource = function (url) {
      if (lastEventId) url += (url.indexOf("?") < 0 ? "?" : "&") + "after=" + encodeURIComponent(lastEventId);
      return create ? create(url) : new EventSource(url, { withCredentials: true });
    };
    document.body.addEventListener("htmx:sseOpen", stopPolling);
    document.body.addEventListener("htmx:sseError", startPolling);
    document.body.addEventListener("htmx:sseMessage", function (event) {
      var detail = event.detail || {};
      if (detail.lastEventId) lastEventId = detail.lastEventId;
      if (detail.type === "assigned") showToast();
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      markRows();
      tick();
      var target = event.detail && event.detail.target;
      if (target && target.matches && target.matches("[data-messages]")) scrollToEnd(target);
      if (target && target.id === "thread-pane") {
        var messages = $("[data-messages]", target);
        if (messages) scrollToEnd(messages);
      }
    });
    document.body.addEventListener("htmx:oobAfterSwap", function (event) {
      var target = event.detail && event.detail.target;
      if (target && target.matches && target.matches("[data-messages]")) scrollToEnd(target);
    });
  }

  function scrollToEnd(el) { el.scrollTop = el.scrollHeight; }

  function start() {
    var root = inbox();
    if (root && root.getAttribute("data-server-now")) {
      var server = Date.parse(root.getAttribute("data-server-now"));
      if (!isNaN(server)) skewMs = server - Date.now();
    }
    document.addEventListener("keydown", onKey);
    document.addEventListener("change", onNoteToggle);
    document.addEventListener("click", onPickerClick);
    wireHtmx();
    markRows();
    tick();
    var messages = $("[data-messages]");
    if (messages) scrollToEnd(messages);
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
