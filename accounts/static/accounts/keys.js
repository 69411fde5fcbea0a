// Once django-otp-webauthn's script has added a security key, go on to the page that lists it
// (data-done on #key-register), so the list and the second-factor status are current.
"use strict";
document.addEventListener("otp_webauthn.register_complete", function () {
  const box = document.getElementById("key-register");
  window.location.assign((box && box.dataset.done) || window.location.href);
});
