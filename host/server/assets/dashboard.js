// hyperplug dashboard: keeps a study's page up to date from its server-sent events.
// `summary`: counts, best trials and the trials that changed; `figures`: every plot redrawn;
// `table`: every trial once, for the trial table (the report's), which the summaries' changed
// trials then keep up to date.
(function () {
  "use strict";
  var name = document.body.getAttribute("data-study");
  var live = document.getElementById("live");
  var updates = 0, draws = 0;
  var STATES = { complete: "c", pruned: "p", failed: "f", running: "r" };
  var table = null;

  function fmt(v) {
    if (typeof v !== "number") return String(v);
    return Number.isInteger(v) ? String(v) : String(+v.toPrecision(6));
  }

  function text(id, v) {
    var el = document.getElementById(id);
    if (el) el.textContent = v;
  }

  function status() {
    live.textContent = "live · " + updates + " update(s), plots drawn " + draws + " time(s)";
  }

  var es = new EventSource("/studies/" + encodeURIComponent(name) + "/events");
  es.addEventListener("summary", function (e) {
    var d = JSON.parse(e.data);
    ["complete", "pruned", "failed", "running", "queued"].forEach(function (k) { text("count-" + k, d.counts[k]); });
    if (d.best_trials.length === 1) {
      var b = d.best_trials[0];
      text("best", b.values.map(fmt).join(", ") + " (trial " + b.number + ")");
    } else if (d.best_trials.length > 1) {
      text("best", d.best_trials.length + " trials on the Pareto front");
    }
    var body = document.querySelector("#latest tbody");
    d.trials.forEach(function (t) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-n", t.number);
      [t.number, t.state, t.values.map(fmt).join(", "),
       Object.keys(t.params).map(function (k) { return k + "=" + fmt(t.params[k]); }).join(" ")]
        .forEach(function (c, i) {
          var td = document.createElement("td");
          td.textContent = c;
          if (i === 1) td.className = "state-" + STATES[t.state];
          tr.appendChild(td);
        });
      body.insertBefore(tr, body.firstChild);
    });
    while (body.children.length > 20) body.removeChild(body.lastChild);
    if (table && d.trials.length) table.upsert(d.trials);
    updates++;
    status();
  });
  es.addEventListener("figures", function (e) {
    var d = JSON.parse(e.data);
    var figures = document.getElementById("figures");
    if (d.error) { figures.textContent = d.error; return; }
    document.querySelectorAll(".hp-tip").forEach(function (t) { t.remove(); });
    document.getElementById("hp-data").textContent = d.data;
    figures.innerHTML = d.html;
    // The report's script wires hover, zoom and legends to the figures present when it runs.
    var s = document.createElement("script");
    s.src = "/assets/report.js";
    document.body.appendChild(s);
    draws++;
    status();
  });
  es.addEventListener("table", function (e) {
    var d = JSON.parse(e.data);
    if (table) table.replace(d);
    else table = window.hpTable = window.hyperplugTable(d);
  });
  es.onerror = function () { live.textContent = "connection lost; reconnecting…"; };
})();
