// The new API key page: Copy puts the key on the clipboard (or selects it to copy by hand).
(function () {
  var input = document.getElementById("api-key-secret");
  var button = document.getElementById("api-key-copy");
  var status = document.getElementById("api-key-copy-status");
  function copiedWithSelection() {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }
  function done(ok) {
    status.textContent = ok ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
    if (ok) { button.textContent = "Copied"; }
  }
  input.addEventListener("focus", function () { input.select(); });
  button.addEventListener("click", function () {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(copiedWithSelection()); });
    } else {
      done(copiedWithSelection());
    }
  });
})();
