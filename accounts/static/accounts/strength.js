/* Live strength hint: progressive enhancement over the plain form (which works without it).
   Asks POST /api/user/password-strength, the same policy the server applies on submit. */
(function () {
  var input = document.querySelector("input[data-strength]");
  var hint = document.getElementById("strength-hint");
  if (!input || !hint || !window.fetch || !window.JSON) return;
  var form = input.form, timer = null, latest = 0;
  // The sentences come from the page, in its language (templates/accounts/_field.html).
  var strongText = hint.getAttribute("data-strong") || "Strong enough.";
  var weakText = hint.getAttribute("data-weak") || "Not strong enough yet.";
  function value(name) { var el = form.elements[name]; return el && el.value ? el.value : ""; }
  function render(result) {
    hint.textContent = "";
    hint.className = "strength " + (result.strong ? "strong" : "weak");
    var meter = document.createElement("div"); meter.className = "meter";
    var bar = document.createElement("span"); bar.style.width = ((result.score + 1) * 20) + "%";
    meter.appendChild(bar); meter.setAttribute("aria-hidden", "true");
    var verdict = document.createElement("p"); verdict.className = "verdict";
    verdict.textContent = result.strong ? strongText : weakText;
    hint.appendChild(meter); hint.appendChild(verdict);
    if (!result.strong && result.feedback.length) {
      var list = document.createElement("ul");
      result.feedback.forEach(function (text) {
        var item = document.createElement("li"); item.textContent = text; list.appendChild(item);
      });
      hint.appendChild(list);
    }
    hint.hidden = false;
  }
  function check() {
    var mine = ++latest;
    fetch("/api/user/password-strength", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({password: input.value, username: value("username"),
                            email: value("email"), display_name: value("display_name")})
    }).then(function (response) { return response.ok ? response.json() : null; })
      .then(function (result) { if (result && mine === latest) render(result); })
      .catch(function () { /* the hint is a nicety: the server still checks on submit */ });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    if (!input.value) { latest++; hint.hidden = true; return; }
    timer = setTimeout(check, 400);
  });
})();
