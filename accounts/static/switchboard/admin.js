// On a phone, filter groups start folded (except ones in use), so the list comes first.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.matchMedia("(max-width: 767px)").matches) return;
  document.querySelectorAll("#changelist-filter details").forEach(function (group) {
    var chosen = group.querySelector("li.selected:not(:first-child)");
    var typed = Array.prototype.some.call(
      group.querySelectorAll("input:not([type=hidden])"), function (input) { return input.value; });
    if (!chosen && !typed) group.open = false;
  });
});
