/* Live progress: polls the page's JSON and redraws the steps. Progressive enhancement: without
   JavaScript the page refreshes itself (a meta refresh in <noscript>). The words it writes come
   from the page, in its language (data-words: websites/templatetags/website_words.py); the
   English below is the fallback. */
(function () {
  var root = document.getElementById("website-progress");
  if (!root || !window.fetch || root.getAttribute("data-finished") === "true") return;
  var url = root.getAttribute("data-progress-url"), delay = 1500;
  var words = {};
  try { words = JSON.parse(root.getAttribute("data-words") || "{}") || {}; } catch (e) { words = {}; }
  var statusText = words.status || {
    live: "Your website is online.",
    failed: "Something went wrong while setting up your website. Our admins have been told and will retry it.",
    pending_verification: "Waiting for your domain's DNS record (see below).",
    deleting: "Your website is being deleted.",
    deleted: "This website was deleted."
  };
  function word(group, value) { return (words[group] && words[group][value]) || value; }
  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
  function drawSteps(steps) {
    var list = document.getElementById("website-steps");
    list.textContent = "";
    steps.forEach(function (step) {
      var item = document.createElement("li");
      item.className = "step step-" + step.state;
      item.setAttribute("data-step", step.name);
      item.setAttribute("data-state", step.state);
      var label = document.createElement("span"); label.className = "step-label"; label.textContent = step.label;
      var state = document.createElement("span"); state.className = "step-state"; state.textContent = word("state", step.state);
      item.appendChild(label); item.appendChild(document.createTextNode(" ")); item.appendChild(state);
      if (step.error) {
        var error = document.createElement("span"); error.className = "step-error"; error.textContent = step.error;
        item.appendChild(error);
      }
      list.appendChild(item);
    });
  }
  function draw(data) {
    drawSteps(data.steps);
    var status = document.getElementById("website-status");
    status.setAttribute("data-status", data.status);
    if (statusText[data.status]) status.textContent = statusText[data.status];
    var line = document.getElementById("website-line");
    if (line) { line.textContent = data.line || ""; line.hidden = !data.line; }
    text("website-certificate", word("certificate", data.certificate));
    text("website-certificate-detail", data.certificate_detail ? data.certificate_detail.message : "");
    if (data.status === "live") {
      var link = document.getElementById("website-url");
      link.textContent = data.url; link.setAttribute("href", data.url);
      if (data.sftp) { text("sftp-host", data.sftp.host); text("sftp-port", String(data.sftp.port)); text("sftp-username", data.sftp.username); }
      document.getElementById("website-access").hidden = false;
    }
    if (data.deploy) {
      text("deploy-result", data.deploy.result ? word("result", data.deploy.result) : (words.not_yet || "not yet"));
      text("deploy-commit", data.deploy.commit || "");
      text("deploy-finished", data.deploy.finished_at || "");
      var log = document.getElementById("deploy-log");
      if (log) { log.textContent = data.deploy.log_tail || ""; log.hidden = !data.deploy.log_tail; }
    }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data) draw(data);
        if (!data || !data.finished || data.certificate === "pending") setTimeout(poll, delay);
      })
      .catch(function () { setTimeout(poll, delay * 4); });
  }
  setTimeout(poll, delay);
})();
