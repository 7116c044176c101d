(function () {
  "use strict";
  // poolscope report: sortable tables, charts drawn from the embedded JSON, hover values,
  // a time-window brush, any tag charted on click, owners grouped. Text from the inputs is
  // only ever set with textContent.
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = { nonpaged: "#c0392b", paged: "#2e6da4" };
  var node = document.getElementById("chart-data");
  var data = node ? JSON.parse(node.textContent) : null;
  var win = null; // [t0, t1] chosen with the brush, null for everything
  var drawn = []; // {box, lines, opts} of every chart, redrawn when the window changes

  function el(name, attrs, text) {
    var e = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function svgEl(name, attrs) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function fmtBytes(v, signed) {
    if (v === null || v === undefined || isNaN(v)) { return "-"; }
    var sign = v < 0 ? "-" : (signed && v > 0 ? "+" : "");
    var a = Math.abs(v), units = ["B", "KB", "MB", "GB"], i = 0;
    while (a >= 1024 && i < units.length - 1) { a /= 1024; i += 1; }
    return sign + (i === 0 ? Math.round(a) : a.toFixed(1)) + " " + units[i];
  }
  // Axis labels: enough decimals that neighbouring grid lines never read the same.
  function fmtAxis(v, lo, hi) {
    var top = Math.max(Math.abs(lo), Math.abs(hi)), i = 0, f = 1;
    while (top / f >= 1024 && i < 3) { f *= 1024; i += 1; }
    var step = (hi - lo) / 3 / f, digits = i === 0 ? 0 : 1;
    while (digits < 4 && step > 0 && step < Math.pow(10, -digits) * 2) { digits += 1; }
    return (v / f).toFixed(digits) + " " + ["B", "KB", "MB", "GB"][i];
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function fmtTime(t) {
    if (!data.timed) { return "snapshot " + Math.round(t); }
    var d = new Date(t);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function key(tag, pool) { return tag + "\u0000" + pool; }

  // -- series ------------------------------------------------------------------------------
  var rowsByKey = {};
  if (data) { data.rows.forEach(function (r) { rowsByKey[key(r.tag, r.pool)] = r; }); }

  function decode(row) {
    var raw = atob(row.q), out = [], span = row.hi - row.lo;
    for (var i = 0; i + 1 < raw.length; i += 2) {
      var level = raw.charCodeAt(i) | (raw.charCodeAt(i + 1) << 8);
      out.push(level === 65535 ? null : row.lo + (span * level) / 65534);
    }
    return out;
  }
  function seriesOf(k) {
    if (data.detail[k]) { return { t: data.t, v: data.detail[k], exact: true }; }
    var row = rowsByKey[k];
    if (!row || !row.q) { return null; }
    return { t: data.bt, v: decode(row), exact: !data.downsampled };
  }

  // -- one chart ------------------------------------------------------------------------------
  function draw(box, lines, opts) {
    while (box.firstChild) { box.removeChild(box.firstChild); }
    var width = Math.max(240, box.clientWidth || 320), height = opts.height || 150;
    var left = 62, right = 8, top = 8, bottom = 22;
    var t0 = win ? win[0] : -Infinity, t1 = win ? win[1] : Infinity;
    var xs = [], lo = opts.zero ? 0 : Infinity, hi = -Infinity;
    lines.forEach(function (line) {
      line.t.forEach(function (t, i) {
        var v = line.v[i];
        if (t < t0 || t > t1 || v === null) { return; }
        xs.push(t);
        if (v < lo) { lo = v; }
        if (v > hi) { hi = v; }
      });
    });
    var svg = svgEl("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img", "class": "plot" });
    box.appendChild(svg);
    if (!xs.length) {
      var none = svgEl("text", { x: left, y: height / 2, "class": "axis" });
      none.textContent = "no values in this time window";
      svg.appendChild(none);
      return;
    }
    var xmin = Math.min.apply(null, xs), xmax = Math.max.apply(null, xs);
    if (win) { xmin = win[0]; xmax = win[1]; }
    if (xmax === xmin) { xmax = xmin + 1; }
    if (hi === lo) { hi = lo + 1; }
    var pad = (hi - lo) * 0.05;
    hi += pad;
    if (!opts.zero) { lo -= pad; }
    function X(t) { return left + ((t - xmin) / (xmax - xmin)) * (width - left - right); }
    function Y(v) { return top + (1 - (v - lo) / (hi - lo)) * (height - top - bottom); }
    for (var g = 0; g <= 3; g += 1) {
      var gv = lo + ((hi - lo) * g) / 3, gy = Y(gv);
      svg.appendChild(svgEl("line", { x1: left, x2: width - right, y1: gy, y2: gy, "class": "grid" }));
      var label = svgEl("text", { x: left - 4, y: gy + 3, "text-anchor": "end", "class": "axis" });
      label.textContent = fmtAxis(gv, lo, hi);
      svg.appendChild(label);
    }
    [[xmin, "start"], [xmax, "end"]].forEach(function (p) {
      var tl = svgEl("text", { x: X(p[0]), y: height - 6, "text-anchor": p[1], "class": "axis" });
      tl.textContent = fmtTime(p[0]);
      svg.appendChild(tl);
    });
    lines.forEach(function (line) {
      var parts = [], path = "";
      line.t.forEach(function (t, i) {
        var v = line.v[i];
        if (t < xmin || t > xmax || v === null) { if (path) { parts.push(path); path = ""; } return; }
        path += (path ? " L" : "M") + X(t).toFixed(1) + " " + Y(v).toFixed(1);
      });
      if (path) { parts.push(path); }
      parts.forEach(function (d) {
        svg.appendChild(svgEl("path", { d: d, fill: "none", stroke: line.colour, "stroke-width": 1.6,
          "class": "series" }));
      });
    });
    // Hover: the nearest snapshot's time and values.
    var cursor = svgEl("line", { y1: top, y2: height - bottom, "class": "cursor", visibility: "hidden" });
    svg.appendChild(cursor);
    var tip = el("div", { "class": "tip", hidden: "" });
    box.appendChild(tip);
    svg.addEventListener("mousemove", function (ev) {
      var rect = svg.getBoundingClientRect();
      var t = xmin + ((ev.clientX - rect.left - left) / (width - left - right)) * (xmax - xmin);
      var text = [], at = null;
      lines.forEach(function (line) {
        var best = -1, dist = Infinity;
        line.t.forEach(function (lt, i) {
          if (line.v[i] === null || lt < xmin || lt > xmax) { return; }
          var d = Math.abs(lt - t);
          if (d < dist) { dist = d; best = i; }
        });
        if (best >= 0) {
          at = line.t[best];
          text.push((lines.length > 1 ? line.label + ": " : "") + fmtBytes(line.v[best]) +
            (line.exact ? "" : " (max of bucket)"));
        }
      });
      if (at === null) { return; }
      cursor.setAttribute("x1", X(at));
      cursor.setAttribute("x2", X(at));
      cursor.setAttribute("visibility", "visible");
      tip.textContent = fmtTime(at) + "  " + text.join("  ");
      tip.hidden = false;
      tip.style.left = Math.min(X(at) + 8, width - 180) + "px";
    });
    svg.addEventListener("mouseleave", function () {
      cursor.setAttribute("visibility", "hidden");
      tip.hidden = true;
    });
    if (opts.brush) { brush(svg, X, xmin, xmax, left, right, width, top, height - bottom); }
  }

  function chart(box, lines, opts) {
    var entry = { box: box, lines: lines, opts: opts || {} };
    drawn.push(entry);
    draw(box, lines, entry.opts);
    return entry;
  }
  function redrawAll() {
    drawn = drawn.filter(function (c) { return document.body.contains(c.box); });
    drawn.forEach(function (c) { draw(c.box, c.lines, c.opts); });
    var label = document.getElementById("window-label");
    if (label) { label.textContent = win ? fmtTime(win[0]) + " → " + fmtTime(win[1]) : "the whole capture"; }
  }

  // -- the time-window brush --------------------------------------------------------------------
  function brush(svg, X, xmin, xmax, left, right, width, y0, y1) {
    var band = svgEl("rect", { y: y0, height: y1 - y0, "class": "brush", visibility: "hidden" });
    svg.appendChild(band);
    var start = null;
    function tAt(ev) {
      var rect = svg.getBoundingClientRect();
      var x = Math.max(left, Math.min(width - right, ev.clientX - rect.left));
      return xmin + ((x - left) / (width - left - right)) * (xmax - xmin);
    }
    svg.addEventListener("mousedown", function (ev) { start = tAt(ev); ev.preventDefault(); });
    svg.addEventListener("mousemove", function (ev) {
      if (start === null) { return; }
      var t = tAt(ev), a = Math.min(start, t), b = Math.max(start, t);
      band.setAttribute("x", X(a));
      band.setAttribute("width", Math.max(1, X(b) - X(a)));
      band.setAttribute("visibility", "visible");
    });
    window.addEventListener("mouseup", function (ev) {
      if (start === null) { return; }
      var t = tAt(ev), a = Math.min(start, t), b = Math.max(start, t);
      start = null;
      if (X(b) - X(a) < 4) { return; }
      setWindow([a, b]);
    });
    svg.addEventListener("dblclick", function () { setWindow(null); });
  }
  function setWindow(w) {
    win = w;
    redrawAll();
  }

  // -- tables ---------------------------------------------------------------------------------
  function sortKey(cell) {
    var v = cell.getAttribute("data-v");
    if (v !== null && v !== "") { return parseFloat(v); }
    return cell.textContent.trim().toLowerCase();
  }
  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    rows.sort(function (a, b) {
      var x = sortKey(a.cells[col]), y = sortKey(b.cells[col]);
      var nx = typeof x === "number", ny = typeof y === "number";
      if (nx && !ny) { return -1; }
      if (!nx && ny) { return 1; }
      if (x < y) { return asc ? -1 : 1; }
      if (x > y) { return asc ? 1 : -1; }
      return 0;
    });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function sortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort";
      th.addEventListener("click", function () { sortBy(table, col, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, col, th); }
      });
    });
  }
  function td(text, num, cls) {
    var c = el("td", cls ? { "class": cls } : {}, text);
    if (num !== undefined && num !== null) {
      c.setAttribute("data-v", String(num));
      c.className = (c.className ? c.className + " " : "") + "num";
    }
    return c;
  }
  function rateText(v) { return v === null || v === undefined ? "-" : fmtBytes(v, true) + "/h"; }

  // -- sections -------------------------------------------------------------------------------
  function card(parent, k, title, closable) {
    var row = rowsByKey[k], series = seriesOf(k);
    var box = el("div", { "class": "card multiple", "data-key": k });
    var head = el("h3", {});
    head.appendChild(el("span", { "class": "tag" }, row ? row.tag : k.split("\u0000")[0]));
    head.appendChild(document.createTextNode(" · " + (row ? row.pool : k.split("\u0000")[1]) + " · " + title));
    if (closable) {
      var close = el("button", { type: "button", "class": "close", title: "remove this chart" }, "×");
      close.addEventListener("click", function () { parent.removeChild(box); redrawAll(); });
      head.appendChild(close);
    }
    box.appendChild(head);
    if (row && row.owner) { box.appendChild(el("p", { "class": "muted owner" }, row.owner)); }
    var plot = el("div", { "class": "plotbox" });
    box.appendChild(plot);
    parent.appendChild(box);
    if (series) {
      chart(plot, [{ label: row ? row.tag : k, colour: COLOURS[row ? row.pool : "paged"] || "#555",
        t: series.t, v: series.v, exact: series.exact }], { zero: true, height: 130 });
    }
    return box;
  }

  function multiples() {
    var grid = document.getElementById("multiples");
    if (!grid) { return; }
    data.suspects.forEach(function (k) {
      var r = rowsByKey[k];
      card(grid, k, r ? r.verdict + ", " + rateText(r.rate) : "suspect");
    });
    data.movers.forEach(function (k) {
      var r = rowsByKey[k];
      card(grid, k, "moved " + (r ? fmtBytes(r.change, true) : ""));
    });
  }

  function totals() {
    var box = document.getElementById("pool-charts");
    if (!box) { return; }
    var sum = null;
    data.totals.forEach(function (p) {
      var part = el("div", { "class": "card pool-chart", "data-pool": p.pool });
      part.appendChild(el("h3", {}, p.pool + " pool (" + p.basis + ")"));
      var plot = el("div", { "class": "plotbox" });
      part.appendChild(plot);
      box.appendChild(part);
      chart(plot, [{ label: p.pool, colour: COLOURS[p.pool] || "#555", t: data.t, v: p.v, exact: true }],
        { zero: false, height: 150 });
      sum = sum === null ? p.v.slice() : sum.map(function (v, i) {
        return v === null || p.v[i] === null ? null : v + p.v[i];
      });
    });
    var over = document.getElementById("overview");
    if (over && sum) {
      chart(over, [{ label: "both pools", colour: "#444", t: data.t, v: sum, exact: true }],
        { zero: false, height: 90, brush: true });
    }
  }

  function picked(k) {
    var box = document.getElementById("picked");
    var old = box.querySelector('[data-key="' + CSS.escape(k) + '"]');
    if (old) { box.removeChild(old); }
    var r = rowsByKey[k];
    var made = card(box, k, r ? r.verdict : "", true);
    box.insertBefore(made, box.firstChild);
    while (box.children.length > 8) { box.removeChild(box.lastChild); }
    redrawAll();
    made.scrollIntoView({ block: "nearest" });
  }

  function everyTag() {
    var table = document.getElementById("all-tags");
    if (!table) { return; }
    var body = table.tBodies[0];
    data.rows.forEach(function (r) {
      var tr = el("tr", { "data-key": key(r.tag, r.pool), "data-group": r.group, tabindex: "0",
        title: "chart this tag" });
      tr.appendChild(td(r.tag, null, "tag"));
      tr.appendChild(td(r.pool));
      tr.appendChild(td(r.verdict, null, "v-" + r.verdict));
      tr.appendChild(td(rateText(r.rate), r.rate === null ? "" : r.rate));
      tr.appendChild(td(fmtBytes(r.last), r.last === null ? "" : r.last));
      tr.appendChild(td(fmtBytes(r.change, true), r.change === null ? "" : r.change,
        r.change > 0 ? "grow" : (r.change < 0 ? "shrink" : "")));
      tr.appendChild(td(r.owner || "-"));
      tr.appendChild(td(r.reason, null, "wrap"));
      function pick() { picked(key(r.tag, r.pool)); }
      tr.addEventListener("click", pick);
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") { pick(); } });
      body.appendChild(tr);
    });
    sortable(table);
    var filter = document.getElementById("tag-filter");
    filter.addEventListener("input", function () { applyFilter(filter.value, null); });
  }
  function applyFilter(text, group) {
    var needle = (text || "").toLowerCase(), shown = 0;
    Array.prototype.forEach.call(document.getElementById("all-tags").tBodies[0].rows, function (tr) {
      var ok = group !== null ? tr.getAttribute("data-group") === group
        : !needle || tr.textContent.toLowerCase().indexOf(needle) >= 0;
      tr.hidden = !ok;
      if (ok) { shown += 1; }
    });
    document.getElementById("tag-count").textContent = shown + " of " + data.rows.length + " series shown";
  }

  function owners() {
    var table = document.getElementById("owner-table");
    if (!table) { return; }
    var rank = { leak: 0, suspect: 1, recovers: 2, stable: 3, "insufficient-data": 4 };
    var groups = {};
    data.rows.forEach(function (r) {
      var g = groups[r.group] || (groups[r.group] = { name: r.group, tags: 0, last: 0, change: 0, worst: null });
      g.tags += 1;
      g.last += r.last || 0;
      g.change += r.change || 0;
      if (g.worst === null || (rank[r.verdict] !== undefined && rank[r.verdict] < rank[g.worst])) { g.worst = r.verdict; }
    });
    var list = Object.keys(groups).map(function (k) { return groups[k]; });
    list.sort(function (a, b) { return (rank[a.worst] - rank[b.worst]) || (b.change - a.change); });
    var body = table.tBodies[0];
    list.forEach(function (g) {
      var tr = el("tr", { "data-group": g.name, tabindex: "0", title: "show this owner's tags below" });
      tr.appendChild(td(g.name));
      tr.appendChild(td(String(g.tags), g.tags));
      tr.appendChild(td(g.worst, null, "v-" + g.worst));
      tr.appendChild(td(fmtBytes(g.last), g.last));
      tr.appendChild(td(fmtBytes(g.change, true), g.change, g.change > 0 ? "grow" : (g.change < 0 ? "shrink" : "")));
      function pick() {
        document.getElementById("tag-filter").value = "";
        applyFilter("", g.name);
        document.getElementById("trend").scrollIntoView({ block: "start" });
      }
      tr.addEventListener("click", pick);
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") { pick(); } });
      body.appendChild(tr);
    });
    sortable(table);
  }

  document.querySelectorAll("table.sortable").forEach(sortable);
  if (data) {
    multiples();
    totals();
    owners();
    everyTag();
    var reset = document.getElementById("window-reset");
    if (reset) { reset.addEventListener("click", function () { setWindow(null); }); }
    redrawAll();
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(redrawAll, 150);
    });
    window.poolscopeReport = { setWindow: setWindow, pick: picked };
  }
  document.documentElement.setAttribute("data-ready", "1");
})();
