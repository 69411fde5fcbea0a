/* The sign-up challenge (README, "Abuse defences"): fetch an ALTCHA v1 challenge, find the number n
   with SHA-256(salt + n) == challenge, and put the solution in the hidden field. A submit before
   the answer is found waits for it. Nothing leaves for a third party. */
(function () {
  var field = document.querySelector("input[data-challenge]");
  var status = document.getElementById("challenge-status");
  if (!field) return;
  var form = field.form, ready = false, waiting = false, generation = 0;
  function say(text) { if (status) status.textContent = text; }
  // The sentences come from the page, in its language (templates/accounts/_robot_check.html).
  function sentence(name, fallback) { return (status && status.getAttribute("data-" + name)) || fallback; }
  if (!window.fetch || !window.crypto || !window.crypto.subtle || !window.TextEncoder) {
    say(sentence("unsupported", "This browser cannot run the anti-robot check (it needs a recent browser over HTTPS)."));
    return;
  }
  var encoder = new TextEncoder();
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function digest(text) { return crypto.subtle.digest("SHA-256", encoder.encode(text)).then(hex); }
  // Batches of parallel digests: one await per hash would spend most of the time scheduling.
  function search(ch, start) {
    if (start > ch.maxNumber) return Promise.resolve(null);
    var end = Math.min(start + 500, ch.maxNumber + 1), batch = [];
    for (var n = start; n < end; n++) batch.push(digest(ch.salt + n));
    return Promise.all(batch).then(function (hashes) {
      var found = hashes.indexOf(ch.challenge);
      return found >= 0 ? start + found : search(ch, end);
    });
  }
  function solve() {
    var mine = ++generation;
    ready = false;
    say(sentence("checking", "Checking that you are not a robot…"));
    fetch("/api/user/challenge", {headers: {"Accept": "application/json"}})
      .then(function (response) { if (!response.ok) throw new Error("challenge"); return response.json(); })
      .then(function (ch) {
        return search(ch, 0).then(function (number) {
          if (number === null) throw new Error("unsolved");
          return {algorithm: ch.algorithm, challenge: ch.challenge, number: number,
                  salt: ch.salt, signature: ch.signature};
        });
      })
      .then(function (payload) {
        if (mine !== generation) return;
        field.value = btoa(JSON.stringify(payload));
        ready = true;
        say(sentence("done", "Check done."));
        // Solve again before this one expires (20 minutes by default): the page may stay open.
        setTimeout(solve, 15 * 60 * 1000);
        if (waiting) { waiting = false; form.submit(); }
      })
      .catch(function () {
        if (mine !== generation) return;
        say(sentence("retrying", "The anti-robot check could not run; trying again…"));
        setTimeout(solve, 3000);
      });
  }
  form.addEventListener("submit", function (event) {
    if (ready) return;
    event.preventDefault();
    waiting = true;
    say(sentence("finishing", "Finishing the anti-robot check, then sending…"));
  });
  field.value = "";
  solve();
})();
