/* 扫码退单: keep the scan box ready for the next parcel.
 *
 * htmx has collected the waybill when it configures the request: the box is emptied right then,
 * so a scanner can send the next waybill while this one is being answered, and the focus goes
 * back to the box after every answer (a scanner types wherever the focus is).
 */
(function () {
  "use strict";
  var box = document.getElementById("scan-waybill");
  var form = document.getElementById("scan-form");
  if (!box || !form) return;
  form.addEventListener("htmx:configRequest", function () { box.value = ""; });
  document.body.addEventListener("htmx:afterSwap", function () {
    if (document.activeElement === document.body || document.activeElement === null) box.focus();
  });
  document.body.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail.elt === form) box.focus();
  });
})();
