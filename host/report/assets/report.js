// hyperplug report: hover details, zoom and pan, legend toggles, and the trial table.
// Reads the trials from <script type="application/json" id="hp-data"> (see trials_json).
(function () {
  "use strict";
  var holder = document.getElementById("hp-data");
  var data = holder ? JSON.parse(holder.textContent) : { objectives: [], params: [], rows: [] };
  var STATES = { c: "complete", p: "pruned", f: "failed", r: "running" };
  var CODES = { complete: "c", pruned: "p", failed: "f", running: "r" };
  var byNumber = new Map();
  data.rows.forEach(function (r) { byNumber.set(r[0], r); });

  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "number") {
      if (Number.isInteger(v)) return String(v);
      var a = Math.abs(v);
      return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(+v.toPrecision(5));
    }
    return String(v);
  }

  function describe(r) {
    var lines = ["trial " + r[0] + " · " + STATES[r[1]]];
    r[2].forEach(function (v, i) { lines.push(data.objectives[i] + " = " + fmt(v)); });
    data.params.forEach(function (p, i) { var v = r[3][i]; if (v !== undefined && v !== null) lines.push(p + " = " + fmt(v)); });
    if (r[4] !== null) lines.push("duration " + fmt(r[4]) + " s");
    if (r[6]) lines.push(r[6]);
    return lines.join("\n");
  }

  // ---- tooltip, from the points of the series under the pointer
  var tip = document.createElement("div");
  tip.className = "hp-tip";
  document.body.appendChild(tip);

  function points(svg) {
    if (svg._pts) return svg._pts;
    var pts = [];
    svg.querySelectorAll("path[data-n]").forEach(function (p) {
      var ns = p.getAttribute("data-n").split(",");
      var re = /M(-?[\d.]+) (-?[\d.]+)/g, m, i = 0;
      var d = p.getAttribute("d");
      while ((m = re.exec(d)) !== null) pts.push([+m[1], +m[2], +ns[i++], p]);
    });
    svg._pts = pts;
    return pts;
  }

  // The current viewBox of a panel, as [x, y, width, height].
  function box(svg) {
    return (svg.getAttribute("viewBox") || "0 0 1 1").split(/[\s,]+/).map(Number);
  }

  // Pointer position in the panel's own units (the panel keeps its aspect ratio).
  function svgPoint(svg, e) {
    var r = svg.getBoundingClientRect(), vb = box(svg);
    var sx = r.width ? vb[2] / r.width : 1, sy = r.height ? vb[3] / r.height : 1;
    return { x: vb[0] + (e.clientX - r.left) * sx, y: vb[1] + (e.clientY - r.top) * sy, scale: sx };
  }

  function nearest(svg, e) {
    var p = svgPoint(svg, e);
    var reach = 12 * p.scale;
    var best = null, bd = reach * reach;
    points(svg).forEach(function (q) {
      if (q[3].style.display === "none") return;
      var dx = q[0] - p.x, dy = q[1] - p.y, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = q; }
    });
    return best;
  }

  // ---- zoom (wheel), pan (drag), reset (double-click)
  document.querySelectorAll("svg.plot").forEach(function (svg) {
    var home = box(svg);
    var drag = null;
    function set(v) { svg.setAttribute("viewBox", v.join(" ")); }
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = svgPoint(svg, e), vb = box(svg);
      var k = e.deltaY < 0 ? 0.8 : 1.25;
      var w = Math.min(home[2], vb[2] * k), h = Math.min(home[3], vb[3] * k);
      set([p.x - (p.x - vb[0]) * (w / vb[2]), p.y - (p.y - vb[1]) * (h / vb[3]), w, h]);
    }, { passive: false });
    svg.addEventListener("mousedown", function (e) { var vb = box(svg); drag = { x: e.clientX, y: e.clientY, vb: vb, moved: false }; });
    window.addEventListener("mouseup", function () { setTimeout(function () { drag = null; }, 0); });
    svg.addEventListener("dblclick", function () { set(home); });
    svg.addEventListener("mousemove", function (e) {
      if (drag && e.buttons === 1) {
        var s = svgPoint(svg, e).scale;
        var dx = (e.clientX - drag.x) * s, dy = (e.clientY - drag.y) * s;
        if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
        set([drag.vb[0] - dx, drag.vb[1] - dy, drag.vb[2], drag.vb[3]]);
        tip.style.display = "none";
        return;
      }
      var q = nearest(svg, e);
      var r = q && byNumber.get(q[2]);
      if (!r) { tip.style.display = "none"; return; }
      tip.textContent = describe(r);
      tip.style.display = "block";
      tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 370) + "px";
      tip.style.top = (e.clientY + 14) + "px";
    });
    svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    svg.addEventListener("click", function (e) {
      if (drag && drag.moved) return;
      var legend = e.target.closest(".legend");
      if (legend) { toggle(svg, legend.getAttribute("data-series")); return; }
      var q = nearest(svg, e);
      if (q) showTrial(q[2]);
    });
  });

  // A legend entry hides or shows its series in every panel of its figure.
  function toggle(svg, series) {
    var fig = svg.closest(".figure") || svg;
    var off = !fig.classList.contains("off-" + series);
    fig.classList.toggle("off-" + series, off);
    fig.querySelectorAll(".s-" + series).forEach(function (el) { el.style.display = off ? "none" : ""; });
    fig.querySelectorAll('.legend[data-series="' + series + '"]').forEach(function (el) { el.classList.toggle("off", off); });
  }

  // ---- the trial table: sortable, filterable by state and by text or number conditions,
  // a page of rows at a time (a 100,000-trial study stays responsive). The dashboard makes one
  // from its event stream and keeps it up to date with `upsert`, so it is global and defined
  // once.
  if (!window.hyperplugTable) {
    window.hyperplugTable = function (data) {
      var table = document.getElementById("hp-table");
      var filter = document.getElementById("hp-filter");
      var stateSel = document.getElementById("hp-state");
      var count = document.getElementById("hp-count");
      var pageLabel = document.getElementById("hp-page");
      var PAGE = 50, page = 0, sortCol = 0, sortDir = 1, shown = [], cols = [], head;
      var at = new Map();
      data.rows.forEach(function (r, i) { at.set(r[0], i); });

      function columns() {
        cols = [{ name: "number", get: function (r) { return r[0]; } },
                { name: "state", get: function (r) { return STATES[r[1]]; } }];
        data.objectives.forEach(function (n, i) { cols.push({ name: n, get: function (r) { var v = r[2][i]; return v === undefined ? null : v; } }); });
        data.params.forEach(function (n, i) { cols.push({ name: n, get: function (r) { var v = r[3][i]; return v === undefined ? null : v; } }); });
        cols.push({ name: "duration_s", get: function (r) { return r[4]; } });
        cols.push({ name: "started", get: function (r) { return r[5] ? new Date(r[5]).toISOString().replace("T", " ").slice(0, 19) : null; } });
        cols.push({ name: "message", get: function (r) { return r[6]; } });
        table.tHead.textContent = "";
        head = document.createElement("tr");
        cols.forEach(function (c, i) {
          var th = document.createElement("th");
          th.textContent = c.name;
          th.addEventListener("click", function () {
            sortDir = sortCol === i ? -sortDir : 1;
            sortCol = i;
            update();
          });
          head.appendChild(th);
        });
        table.tHead.appendChild(head);
      }

      function compare(a, b) {
        if (a === b) return 0;
        if (a === null || a === undefined) return 1;
        if (b === null || b === undefined) return -1;
        if (typeof a === "number" && typeof b === "number") return a - b;
        return String(a).localeCompare(String(b));
      }

      function matcher(text) {
        var tests = text.trim().split(/\s+/).filter(Boolean).map(function (tok) {
          var m = /^([^=<>]+)(=|<|>)(.+)$/.exec(tok);
          if (m) {
            var col = cols.findIndex(function (c) { return c.name === m[1]; });
            if (col >= 0) {
              var want = m[3], num = Number(want);
              return function (r) {
                var v = cols[col].get(r);
                if (v === null || v === undefined) return false;
                if (m[2] === "=") return String(v) === want || (typeof v === "number" && v === num);
                var x = typeof v === "number" ? v : Number(v);
                return m[2] === "<" ? x < num : x > num;
              };
            }
          }
          var low = tok.toLowerCase();
          return function (r) {
            return cols.some(function (c) { var v = c.get(r); return v !== null && v !== undefined && String(v).toLowerCase().indexOf(low) >= 0; });
          };
        });
        return function (r) { return tests.every(function (t) { return t(r); }); };
      }

      function update() {
        var ok = matcher(filter.value), st = stateSel.value;
        shown = data.rows.filter(function (r) { return (!st || r[1] === st) && ok(r); });
        var col = cols[sortCol] || cols[0];
        shown.sort(function (a, b) {
          var x = col.get(a), y = col.get(b);
          // Trials without the value (pruned, inactive) last in either direction.
          var nx = x === null || x === undefined, ny = y === null || y === undefined;
          if (nx || ny) return nx === ny ? a[0] - b[0] : nx ? 1 : -1;
          return sortDir * compare(x, y) || a[0] - b[0];
        });
        page = Math.min(page, Math.max(0, Math.ceil(shown.length / PAGE) - 1));
        head.querySelectorAll("th").forEach(function (th, i) {
          th.className = i === sortCol ? (sortDir > 0 ? "asc" : "desc") : "";
        });
        draw();
      }

      function draw() {
        var body = table.tBodies[0];
        body.textContent = "";
        shown.slice(page * PAGE, (page + 1) * PAGE).forEach(function (r) {
          var tr = document.createElement("tr");
          tr.setAttribute("data-n", r[0]);
          cols.forEach(function (c, i) {
            var td = document.createElement("td");
            td.textContent = fmt(c.get(r));
            if (i === 1) td.className = "state-" + r[1];
            tr.appendChild(td);
          });
          body.appendChild(tr);
        });
        var pages = Math.max(1, Math.ceil(shown.length / PAGE));
        count.textContent = shown.length + " of " + data.rows.length + " trials";
        pageLabel.textContent = "page " + (page + 1) + " of " + pages;
      }

      function show(n) {
        filter.value = "number=" + n;
        stateSel.value = "";
        page = 0;
        update();
        var row = table.querySelector('tr[data-n="' + n + '"]');
        if (row) { row.classList.add("hl"); row.scrollIntoView({ block: "center" }); }
      }

      // Trials in the study schema's shape (the dashboard's `summary` events) as rows: added,
      // or replacing the row of the same number; parameters new to the study add columns.
      // Many changes in a row redraw once.
      var pending = null;
      function upsert(trials) {
        var grown = false;
        trials.forEach(function (t) {
          Object.keys(t.params || {}).forEach(function (p) {
            if (data.params.indexOf(p) < 0) { data.params.push(p); grown = true; }
          });
          var params = {};
          data.params.forEach(function (p, i) { var v = (t.params || {})[p]; if (v !== undefined) params[i] = v; });
          var row = [t.number, CODES[t.state] || "r", t.values || [], params,
                     t.duration_s === undefined ? null : t.duration_s,
                     t.started_ms === undefined ? null : t.started_ms,
                     t.message === undefined ? null : t.message];
          var i = at.get(t.number);
          if (i === undefined) { at.set(t.number, data.rows.length); data.rows.push(row); }
          else data.rows[i] = row;
        });
        if (grown) columns();
        if (pending === null) pending = setTimeout(function () { pending = null; update(); }, 200);
      }

      filter.addEventListener("input", function () { page = 0; update(); });
      stateSel.addEventListener("change", function () { page = 0; update(); });
      document.getElementById("hp-prev").addEventListener("click", function () { if (page > 0) { page--; draw(); } });
      document.getElementById("hp-next").addEventListener("click", function () { if ((page + 1) * PAGE < shown.length) { page++; draw(); } });
      columns();
      update();
      // The whole study again (the dashboard's event stream reconnected).
      function replace(d) {
        data = d;
        at = new Map();
        data.rows.forEach(function (r, i) { at.set(r[0], i); });
        columns();
        update();
      }
      return { show: show, upsert: upsert, replace: replace, rows: function () { return data.rows.length; } };
    };
  }

  // The report's own table, from its embedded data; the dashboard (`data-live` on its body)
  // makes its table from its event stream instead.
  if (document.getElementById("hp-table") && !document.body.hasAttribute("data-live")) {
    window.hpTable = window.hyperplugTable(data);
  }
  function showTrial(n) {
    if (window.hpTable) window.hpTable.show(n);
  }
})();
