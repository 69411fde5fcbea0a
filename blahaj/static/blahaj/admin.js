// Django's two-list selector (filter_horizontal) names its search icon with aria-label on a
// bare <span>, which assistive technology may ignore: give those icons the role of an image.
"use strict";
(function () {
  function nameIcons() {
    document.querySelectorAll("span.search-label-icon[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }
  // The selector is drawn on the window's load: look once it is, and whenever it redraws.
  window.addEventListener("load", function () {
    nameIcons();
    new MutationObserver(nameIcons).observe(document.body, { childList: true, subtree: true });
  });
})();
