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

// select2 (autocomplete fields such as a number's "Assigned user") draws its own combobox that
// Django's <label for> does not reach: name it by that label, once select2 has drawn it.
function nameAutocompleteBoxes() {
  document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    var box = select.parentElement && select.parentElement.querySelector(".select2-selection");
    if (!label || !box) return;
    label.id = label.id || select.id + "_label";
    var rendered = box.querySelector(".select2-selection__rendered");
    box.setAttribute("aria-labelledby", label.id + (rendered && rendered.id ? " " + rendered.id : ""));
    if (rendered) rendered.setAttribute("aria-labelledby", label.id);
  });
}

// Django starts select2 in a jQuery ready handler (run asynchronously); ours, queued after it
// (this file is deferred), runs once the boxes exist.
document.addEventListener("DOMContentLoaded", function () {
  if (window.django && window.django.jQuery) window.django.jQuery(nameAutocompleteBoxes);
});
