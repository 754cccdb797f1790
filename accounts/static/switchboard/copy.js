// Copy buttons: <button class="copy-button" data-copy="ID"> copies the text of the element ID.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".copy-button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var status = document.getElementById(button.getAttribute("aria-describedby") || "");
      var text = source ? source.textContent : "";
      function done(ok) {
        if (status) status.textContent = ok ? "Copied to the clipboard." : "Select the text and press Ctrl+C (⌘C on a Mac) to copy.";
        if (ok) button.textContent = "Copied";
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      } else {
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        done(ok);
      }
    });
  });
});
