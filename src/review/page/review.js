/*
 * The review page (idclusters review, issue #13). No framework and no build step: one classic
 * script (a static copy runs from file://). Everything from the data reaches the DOM as text
 * (textContent, attributes), never as HTML.
 *
 * State = DBSCAN's labels + the decisions (the file's, minus the undone ones, plus the unsaved
 * ones), applied in order by decisions.js exactly as `run` applies them. Every move appends a
 * decision and recomputes; undo removes one. Cards are laid out by this script (sizes below match
 * review.css) and only those near the viewport exist in the DOM, so 28k images scroll smoothly.
 */
(function () {
  "use strict";

  var D = window.IdReviewDecisions;
  var KIND = { ambiguous: 1, weakLink: 2, nearCluster: 4, large: 8, singletonNear: 16 };
  var LAYOUT = { cellW: 112, cellH: 142, gap: 6, pad: 8, head: 48, cardGap: 12, outer: 14, maxLines: 4, overscan: 900 };
  var EXCLUDED = "excluded";

  var $ = function (id) { return document.getElementById(id); };
  var token = new URLSearchParams(location.search).get("token") || "";
  var query = token ? "?token=" + encodeURIComponent(token) : "";

  var S = {
    data: null,
    mode: "server",
    n: 0,
    saved: [],
    undone: new Set(),
    pending: [],
    result: null,
    /** key -> { key, rows, pos, info, edited, checked } */
    groups: new Map(),
    order: [],
    visible: [],
    /** Position (risk order) of each row's identity when the data was ranked. */
    rankPosOfRow: null,
    rankInfo: new Map(),
    rankPos: new Map(),
    selectedRows: new Set(),
    pickedGroups: new Set(),
    focus: null,
    expanded: new Set(),
    anchorRow: -1,
    search: null,
    matches: null,
    layout: { x: [], y: [], w: [], h: [], lines: [], height: 0, cols: 2 },
    rendered: new Map(),
    rowOfSha: new Map(),
    version: 0,
    saving: false,
    reloading: false,
    reviewer: "",
    exported: false,
  };

  // ---------- loading ----------

  function showBanner(lines, kind, action) {
    var banner = $("banner");
    banner.textContent = "";
    banner.className = "banner" + (kind === "error" ? " error" : "");
    lines.forEach(function (line, i) {
      var p = document.createElement("p");
      p.textContent = line;
      if (i === lines.length - 1 && action) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = action.label;
        b.addEventListener("click", action.run);
        p.appendChild(b);
      }
      banner.appendChild(p);
    });
    banner.hidden = lines.length === 0;
  }

  function fetchData() {
    return fetch("api/data" + query, { cache: "no-store" }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body && body.error ? body.error : "the server answered " + res.status);
        return body;
      });
    });
  }

  /** Performance marks (review:data, review:rendered) for the benchmark and for a curious person. */
  function mark(name) {
    if (window.performance && performance.mark) performance.mark(name);
  }

  function load() {
    var embedded = $("review-data");
    if (embedded) {
      var data = JSON.parse(embedded.textContent);
      mark("review:data");
      start(data, null);
      mark("review:rendered");
      return;
    }
    setMessage("Loading…");
    fetchData().then(function (data) {
      mark("review:data");
      start(data, null);
      mark("review:rendered");
    }, function (error) {
      showBanner(["Could not load the review data: " + error.message], "error");
      setMessage("");
    });
  }

  function storageKey() {
    return "idclusters-review:" + S.data.name + ":" + S.data.buildId;
  }

  function keyOf(label, row) {
    return label >= 0 ? label : -(row + 2);
  }

  /** (Re)starts from data; `keep` carries unsaved decisions over a reload. */
  function start(data, keep) {
    S.data = data;
    S.mode = data.mode;
    S.n = data.rows.sha.length;
    S.saved = data.overrides.decisions.slice();
    S.rowOfSha = new Map();
    for (var r = S.n - 1; r >= 0; r--) S.rowOfSha.set(data.rows.sha[r], r);
    S.undone = new Set();
    S.pending = [];
    S.rankInfo = new Map();
    S.rankPos = new Map();
    var c = data.clusters;
    for (var i = 0; i < c.key.length; i++) {
      S.rankPos.set(c.key[i], i);
      S.rankInfo.set(c.key[i], { kinds: c.kinds[i], score: c.score[i], weak: c.weak[i], weakRow: c.weakRow[i], near: c.near[i], nearKey: c.nearKey[i], amb: c.amb[i], ambKey: c.ambKey[i] });
    }
    // Where each row's identity stood when ranked: a new identity (a split) is placed beside its origin.
    var rankedLabels = data.applied ? data.applied.labels : data.rows.base;
    var excludedThen = new Set(data.applied ? data.applied.excluded : []);
    S.rankPosOfRow = new Float64Array(S.n);
    for (i = 0; i < S.n; i++) {
      var pos = S.rankPos.get(keyOf(rankedLabels[i], i));
      S.rankPosOfRow[i] = excludedThen.has(i) || pos === undefined ? c.key.length : pos;
    }
    S.reviewer = data.reviewer;
    if (S.mode === "static") {
      $("reviewer-box").hidden = false;
      try { S.reviewer = localStorage.getItem("idclusters-review:reviewer") || data.reviewer; } catch (e) { /* storage off */ }
      $("reviewer").value = S.reviewer;
      $("act-save").textContent = "Save (download)";
    }
    $("title").textContent = data.name;
    document.title = data.name + " · idclusters review";

    var restored = 0;
    if (keep) {
      S.undone = new Set(Array.from(keep.undone).filter(function (id) { return S.saved.some(function (d) { return d.id === id; }); }));
      S.pending = keep.pending.filter(function (d) { return !S.saved.some(function (s) { return s.id === d.id; }); });
      restored = S.pending.length;
    } else {
      try {
        var stored = JSON.parse(localStorage.getItem(storageKey()) || "null");
        if (stored && Array.isArray(stored.pending)) {
          S.pending = stored.pending;
          S.undone = new Set((stored.undone || []).filter(function (id) { return S.saved.some(function (d) { return d.id === id; }); }));
          restored = S.pending.length + S.undone.size;
        }
      } catch (e) { /* storage off or unreadable: start clean */ }
    }
    recompute(true);
    var notes = [];
    if (!data.overrides.configured) {
      notes.push("The config names no clustering.overrides, so `idclusters run` does not apply these decisions yet: add \"clustering.overrides: " + data.overrides.configValue + "\" under clustering in the config.");
    }
    data.overrides.problems.forEach(function (p) { notes.push("Not applied: " + p); });
    if (data.applied && !sameAsServer()) notes.push("This page's application of the decisions differs from the server's (applyOverrides): please report this; what `run` does is the server's.");
    showBanner(notes, "warn");
    setMessage(restored > 0 ? "Restored " + restored + " unsaved change(s) from this browser." : "");
    $("list").focus();
  }

  function sameAsServer() {
    var a = S.data.applied;
    var decisions = S.saved;
    var r = D.applyDecisions({ labels: S.data.rows.base, keys: S.data.rows.sha, decisions: decisions });
    for (var i = 0; i < S.n; i++) if (r.labels[i] !== a.labels[i]) return false;
    var ex = new Set(a.excluded);
    var ch = new Set(a.checked);
    for (i = 0; i < S.n; i++) {
      if (Boolean(r.excluded[i]) !== ex.has(i)) return false;
      if (Boolean(r.checkedRows[i]) !== ch.has(i)) return false;
    }
    return true;
  }

  // ---------- state ----------

  function effectiveDecisions() {
    return S.saved.filter(function (d) { return !S.undone.has(d.id); }).concat(S.pending);
  }

  function dirty() {
    return S.pending.length > 0 || S.undone.size > 0;
  }

  function persist() {
    try {
      if (dirty()) localStorage.setItem(storageKey(), JSON.stringify({ pending: S.pending, undone: Array.from(S.undone) }));
      else localStorage.removeItem(storageKey());
    } catch (e) { /* storage off: unsaved work lives in this tab only */ }
  }

  function recompute(first) {
    var rows = S.data.rows;
    S.result = D.applyDecisions({ labels: rows.base, keys: rows.sha, fileNames: rows.file, decisions: effectiveDecisions() });
    var res = S.result;
    // Rows an unsaved change touched: their identities are marked.
    var touched = new Set();
    var changed = S.pending.concat(S.saved.filter(function (d) { return S.undone.has(d.id); }));
    changed.forEach(function (d) {
      d.images.concat(d.into ? [d.into] : []).forEach(function (sha) { if (S.rowOfSha.has(sha)) touched.add(S.rowOfSha.get(sha)); });
    });
    var i;
    var groups = new Map();
    var excluded = [];
    for (i = 0; i < S.n; i++) {
      if (res.excluded[i]) { excluded.push(i); continue; }
      var key = keyOf(res.labels[i], i);
      var g = groups.get(key);
      if (!g) groups.set(key, (g = { key: key, rows: [], pos: 0, info: null, edited: false, checked: true }));
      g.rows.push(i);
      if (touched.has(i)) g.edited = true;
      if (!res.checkedRows[i]) g.checked = false;
    }
    groups.forEach(function (g) {
      var pos = S.rankPos.get(g.key);
      if (pos === undefined) {
        // Not ranked (made by an unsaved split): just after the identity its first image came from.
        pos = Infinity;
        g.rows.forEach(function (r) { pos = Math.min(pos, S.rankPosOfRow[r] + 0.5); });
      }
      g.pos = pos;
      g.info = S.rankInfo.get(g.key) || null;
    });
    if (excluded.length > 0) groups.set(EXCLUDED, { key: EXCLUDED, rows: excluded, pos: Infinity, info: null, edited: excluded.some(function (r) { return touched.has(r); }), checked: false });
    S.groups = groups;
    // Selections that no longer exist are dropped.
    S.pickedGroups.forEach(function (k) { if (!groups.has(k) || k === EXCLUDED) S.pickedGroups.delete(k); });
    S.selectedRows.forEach(function (r) { if (res.excluded[r]) S.selectedRows.delete(r); });
    if (S.focus !== null && !groups.has(S.focus)) S.focus = null;
    persist();
    refresh(first);
  }

  // ---------- order, filters, search ----------

  function parseSearch(text) {
    text = text.trim();
    if (text === "") return null;
    var m = /^(?:r|row\s*|#)?(\d+)$/i.exec(text);
    var row = m ? Number(m[1]) : null;
    var hex = /^[0-9a-f]{4,64}$/i.test(text) ? text.toLowerCase() : null;
    return { text: text.toLowerCase(), row: row, hex: hex, rowOnly: /^(r|row)/i.test(text) };
  }

  function rowMatches(r, s) {
    var rows = S.data.rows;
    if (s.row !== null && rows.row[r] === s.row) return true;
    if (s.rowOnly) return false;
    if (s.hex && rows.sha[r].indexOf(s.hex) === 0) return true;
    return rows.file[r].toLowerCase().indexOf(s.text) >= 0;
  }

  function sortKeys() {
    var how = $("sort").value;
    // Sorted as objects, not keys: a comparator that looks groups up in a Map costs ~1M lookups at 12k identities.
    var list = [];
    S.groups.forEach(function (g) { if (g.key !== EXCLUDED) list.push(g); });
    var byPos = function (a, b) { return a.pos - b.pos || a.rows[0] - b.rows[0]; };
    var weakOf = function (g) { return g.info && g.info.weak !== null ? g.info.weak : -1; };
    var nearOf = function (g) { return g.info && g.info.near !== null ? g.info.near : 9; };
    var cmp = {
      risk: byPos,
      size: function (a, b) { return b.rows.length - a.rows.length || byPos(a, b); },
      weak: function (a, b) { return weakOf(b) - weakOf(a) || byPos(a, b); },
      near: function (a, b) { return nearOf(a) - nearOf(b) || byPos(a, b); },
      source: function (a, b) { return a.rows[0] - b.rows[0]; },
    }[how] || byPos;
    list.sort(cmp);
    S.order = list.map(function (g) { return g.key; });
    if (S.groups.has(EXCLUDED)) S.order.push(EXCLUDED);
  }

  /** The filters' values, read once per refresh (not once per identity). */
  function readFilters() {
    return {
      kind: $("filter-kind").value,
      singles: $("filter-singles").checked,
      min: Number($("filter-min").value) || 0,
      max: Number($("filter-max").value) || Infinity,
      unchecked: $("filter-unchecked").checked,
    };
  }

  function passes(g, f) {
    var kind = f.kind;
    var info = g.info;
    var kinds = info ? info.kinds : 0;
    if (g.key === EXCLUDED) {
      if (kind !== "all" && kind !== "edited") return false;
    } else {
      if (!f.singles && g.rows.length === 1 && !(kinds & KIND.singletonNear)) return false;
      if (g.rows.length < f.min || g.rows.length > f.max) return false;
      if (f.unchecked && g.checked) return false;
      var ok;
      switch (kind) {
        case "flagged": ok = kinds !== 0; break;
        case "ambiguous": ok = (kinds & KIND.ambiguous) !== 0; break;
        case "weak": ok = (kinds & KIND.weakLink) !== 0; break;
        case "near": ok = (kinds & KIND.nearCluster) !== 0; break;
        case "large": ok = (kinds & KIND.large) !== 0; break;
        case "single": ok = (kinds & KIND.singletonNear) !== 0; break;
        case "unflagged": ok = kinds === 0; break;
        case "edited": ok = g.edited; break;
        case "checked": ok = g.checked; break;
        default: ok = true;
      }
      if (!ok) return false;
    }
    if (S.search) {
      for (var i = 0; i < g.rows.length; i++) if (S.matches.has(g.rows[i])) return true;
      return false;
    }
    return true;
  }

  function refresh(first) {
    S.search = parseSearch($("search").value);
    S.matches = new Set();
    if (S.search) for (var r = 0; r < S.n; r++) if (rowMatches(r, S.search)) S.matches.add(r);
    sortKeys();
    var filters = readFilters();
    S.visible = S.order.filter(function (k) { return passes(S.groups.get(k), filters); });
    if (S.focus === null && S.visible.length > 0 && first) S.focus = S.visible[0];
    layout();
    S.version++;
    render();
    updateChrome();
  }

  // ---------- layout and virtual rendering ----------

  function maxCols() {
    var width = $("list").clientWidth - 2 * LAYOUT.outer;
    return Math.max(2, Math.floor((width - 2 * LAYOUT.pad + LAYOUT.gap) / (LAYOUT.cellW + LAYOUT.gap)));
  }

  /** Columns, images shown and lines of a card. */
  function cardShape(g, cols) {
    var count = g.rows.length;
    var c = Math.min(cols, Math.max(2, count));
    var shown = count;
    var more = false;
    if (!S.expanded.has(g.key) && count > c * LAYOUT.maxLines) {
      shown = c * LAYOUT.maxLines - 1;
      more = true;
    }
    var lines = Math.ceil((shown + (more ? 1 : 0)) / c);
    return { cols: c, shown: shown, more: more, lines: lines };
  }

  function layout() {
    var L = S.layout;
    // Read once: reading the width while cards are being added would lay the page out each time.
    var cols = (L.cols = maxCols());
    var width = $("list").clientWidth - LAYOUT.outer;
    L.x = []; L.y = []; L.w = []; L.h = []; L.lines = [];
    var x = LAYOUT.outer, y = LAYOUT.outer, lineH = 0, lineStart = 0;
    S.visible.forEach(function (key, i) {
      var shape = cardShape(S.groups.get(key), cols);
      var w = 2 * LAYOUT.pad + shape.cols * LAYOUT.cellW + (shape.cols - 1) * LAYOUT.gap;
      var h = LAYOUT.head + shape.lines * LAYOUT.cellH + (shape.lines - 1) * LAYOUT.gap + LAYOUT.pad;
      if (x > LAYOUT.outer && x + w > width) {
        L.lines.push({ y: y, h: lineH, from: lineStart, to: i });
        y += lineH + LAYOUT.cardGap;
        x = LAYOUT.outer;
        lineH = 0;
        lineStart = i;
      }
      L.x.push(x); L.y.push(y); L.w.push(w); L.h.push(h);
      x += w + LAYOUT.cardGap;
      lineH = Math.max(lineH, h);
    });
    if (S.visible.length > 0) L.lines.push({ y: y, h: lineH, from: lineStart, to: S.visible.length });
    L.height = S.visible.length > 0 ? y + lineH + LAYOUT.outer : 0;
    $("canvas").style.height = L.height + "px";
    $("empty").hidden = S.visible.length > 0;
  }

  function visibleRange() {
    var list = $("list");
    var top = list.scrollTop - LAYOUT.overscan;
    var bottom = list.scrollTop + list.clientHeight + LAYOUT.overscan;
    var lines = S.layout.lines;
    var lo = 0, hi = lines.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (lines[mid].y + lines[mid].h < top) lo = mid + 1;
      else hi = mid;
    }
    var from = lo < lines.length ? lines[lo].from : S.visible.length;
    var to = from;
    for (var l = lo; l < lines.length && lines[l].y <= bottom; l++) to = lines[l].to;
    return { from: from, to: to };
  }

  function render() {
    var range = visibleRange();
    var canvas = $("canvas");
    var keep = new Set();
    for (var i = range.from; i < range.to; i++) {
      var key = S.visible[i];
      keep.add(key);
      var el = S.rendered.get(key);
      if (!el || el._version !== S.version) {
        var fresh = buildCard(S.groups.get(key));
        fresh._version = S.version;
        if (el) canvas.replaceChild(fresh, el);
        else canvas.appendChild(fresh);
        el = fresh;
        S.rendered.set(key, el);
      }
      // Only when it moved: rewriting the same styles on every frame costs a restyle of each card.
      var place = S.layout.x[i] + "," + S.layout.y[i] + "," + S.layout.w[i] + "," + S.layout.h[i];
      if (el._place !== place) {
        el._place = place;
        el.style.transform = "translate(" + S.layout.x[i] + "px," + S.layout.y[i] + "px)";
        el.style.width = S.layout.w[i] + "px";
        el.style.height = S.layout.h[i] + "px";
      }
    }
    S.rendered.forEach(function (el, key) {
      if (!keep.has(key)) {
        el.remove();
        S.rendered.delete(key);
      }
    });
  }

  var scrollQueued = false;
  function onScroll() {
    if (scrollQueued) return;
    scrollQueued = true;
    requestAnimationFrame(function () {
      scrollQueued = false;
      render();
    });
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(x) {
    return x === null || x === undefined ? "–" : x.toFixed(2);
  }

  function label(key) {
    return key === EXCLUDED ? "excluded" : key >= 0 ? "#" + key : "single r" + S.data.rows.row[-key - 2];
  }

  function thumbUrl(sha) {
    return S.data.thumbs.base + sha + "." + S.data.thumbs.ext + query;
  }

  function chipsOf(g) {
    var out = [];
    var info = g.info;
    var eps = S.data.eps;
    if (g.key === EXCLUDED) return [{ cls: "k-none", text: "not in the release (d: undo)", title: "Left out of the release; each exclusion can be undone in Decisions (d)" }];
    if (g.edited) out.push({ cls: "k-edited", text: "unsaved change" });
    if (!info) {
      out.push({ cls: "k-none", text: g.edited ? "new" : "", title: "Made by an unsaved change: ranked when saved" });
      return out;
    }
    if (info.kinds & KIND.ambiguous) out.push({ cls: "k-ambiguous", text: "ambiguous pair" + (info.amb > 1 ? " ×" + info.amb : "") + (info.ambKey !== null ? " ↔ " + label(info.ambKey) : ""), jump: info.ambKey, title: "A pair at the DBSCAN threshold touches it: float rounding decided whether it joins" });
    if (info.kinds & KIND.weakLink) out.push({ cls: "k-weak", text: "weak link " + fmt(info.weak) + " / eps " + fmt(eps), title: "Its loosest image (orange) is at cosine distance " + fmt(info.weak) + " from its nearest cluster mate; eps is " + eps });
    if (info.kinds & KIND.nearCluster) out.push({ cls: "k-near", text: "near " + label(info.nearKey) + " " + fmt(info.near), jump: info.nearKey, title: "Centroid cosine distance " + fmt(info.near) + " to " + label(info.nearKey) + " (click to go there)" });
    if (info.kinds & KIND.singletonNear) out.push({ cls: "k-single", text: "near " + label(info.nearKey) + " " + fmt(info.near), jump: info.nearKey, title: "Single image; cosine distance " + fmt(info.near) + " to the centroid of " + label(info.nearKey) });
    if (info.kinds & KIND.large) out.push({ cls: "k-large", text: "large", title: "Among the largest identities (from " + S.data.largeFrom + " images)" });
    if (info.kinds === 0 && !g.edited) out.push({ cls: "k-none", text: "link " + fmt(info.weak) + " · nearest " + fmt(info.near), title: "No risk flag: weakest internal link and centroid distance to the nearest identity" });
    return out;
  }

  function buildCard(g) {
    var rows = S.data.rows;
    var card = el("div", "card");
    card.dataset.key = String(g.key);
    if (g.key === EXCLUDED) card.classList.add("excluded-card");
    if (g.key === S.focus) card.classList.add("focused");
    if (S.pickedGroups.has(g.key)) card.classList.add("picked");
    if (g.checked) card.classList.add("checked");

    var head = el("div", "card-head");
    var line1 = el("div", "line");
    if (g.key !== EXCLUDED) {
      var pick = el("input", "pick");
      pick.type = "checkbox";
      pick.checked = S.pickedGroups.has(g.key);
      pick.title = "Select this identity (x)";
      pick.dataset.act = "pick";
      line1.appendChild(pick);
    }
    var cid = el("span", "cid", g.key === EXCLUDED ? "Excluded" : label(g.key));
    cid.dataset.act = "focus";
    line1.appendChild(cid);
    line1.appendChild(el("span", "count", g.rows.length + (g.rows.length === 1 ? " image" : " images")));
    line1.appendChild(el("span", "spacer"));
    if (g.key !== EXCLUDED) {
      var selectedHere = 0;
      S.selectedRows.forEach(function (r) { if (g.rows.indexOf(r) >= 0) selectedHere++; });
      if (S.selectedRows.size > 0 && selectedHere < S.selectedRows.size) {
        var move = el("button", "", "move " + S.selectedRows.size + " here");
        move.type = "button";
        move.dataset.act = "move-here";
        move.title = "Move the selected images into " + label(g.key);
        line1.appendChild(move);
      }
      if (g.key >= 0) {
        var check = el("button", g.checked ? "checked" : "", g.checked ? "✓ checked" : "mark checked");
        check.type = "button";
        check.dataset.act = "check";
        check.title = g.checked ? "Checked (undo the check decision to change this)" : "Mark as checked: all its images are one person (c)";
        line1.appendChild(check);
      }
    }
    head.appendChild(line1);
    var line2 = el("div", "line chips");
    chipsOf(g).forEach(function (c) {
      if (!c.text) return;
      var chip = el("span", "chip " + c.cls, c.text);
      if (c.title) chip.title = c.title;
      if (c.jump !== undefined && c.jump !== null) {
        chip.classList.add("jump");
        chip.dataset.act = "jump";
        chip.dataset.to = String(c.jump);
      }
      line2.appendChild(chip);
    });
    head.appendChild(line2);
    card.appendChild(head);

    var shape = cardShape(g, S.layout.cols);
    var grid = el("div", "thumbs");
    grid.style.gridTemplateColumns = "repeat(" + shape.cols + ", " + LAYOUT.cellW + "px)";
    // The loosest image is pointed out only where the weak link is flagged: everywhere it is noise.
    var weakRow = g.info && !g.edited && g.info.kinds & KIND.weakLink ? g.info.weakRow : -1;
    var excludedBy = S.result.excludedBy;
    for (var k = 0; k < shape.shown; k++) {
      var r = g.rows[k];
      var cell = el("div", "cell");
      cell.dataset.row = String(r);
      if (S.selectedRows.has(r)) cell.classList.add("selected");
      if (r === weakRow) cell.classList.add("weakest");
      if (S.search && S.matches.has(r)) cell.classList.add("match");
      if (g.key === EXCLUDED) cell.classList.add("excluded");
      var img = el("img");
      img.alt = "";
      img.loading = "lazy";
      img.decoding = "async";
      img.width = LAYOUT.cellW;
      img.height = LAYOUT.cellW;
      img.src = thumbUrl(rows.sha[r]);
      img.addEventListener("error", onImageError);
      cell.appendChild(img);
      // The file's own name tells images apart; its folder is in the tooltip.
      cell.appendChild(el("div", "name", rows.file[r].split("/").pop()));
      var meta = el("div", "meta");
      meta.appendChild(el("span", "", "r" + rows.row[r] + " · "));
      var sha = el("span", "sha", rows.sha[r].slice(0, 8));
      sha.dataset.act = "copy";
      sha.title = "SHA-256 " + rows.sha[r] + " (click to copy)";
      meta.appendChild(sha);
      cell.appendChild(meta);
      var tip = rows.file[r] + "\nrow " + rows.row[r] + "\nSHA-256 " + rows.sha[r];
      if (g.key === EXCLUDED) {
        var by = findDecision(excludedBy.get(rows.sha[r]));
        if (by) tip += "\nexcluded: " + by.why + " (" + by.who + ")";
      }
      if (r === weakRow) tip += "\nloosest image: its nearest cluster mate is at distance " + fmt(g.info.weak);
      img.title = tip;
      grid.appendChild(cell);
    }
    if (shape.more) {
      var more = el("div", "more", "show all " + g.rows.length);
      more.dataset.act = "expand";
      grid.appendChild(more);
    }
    card.appendChild(grid);
    return card;
  }

  function onImageError(event) {
    var img = event.target;
    img.removeEventListener("error", onImageError);
    img.classList.add("broken");
    img.removeAttribute("src");
  }

  function findDecision(id) {
    if (!id) return null;
    var all = effectiveDecisions();
    for (var i = 0; i < all.length; i++) if (all[i].id === id) return all[i];
    return null;
  }

  // ---------- chrome: counts, status, selection ----------

  function setMessage(text) {
    $("message").textContent = text;
  }

  function updateChrome() {
    var identities = 0, flagged = 0, checked = 0, images = 0;
    S.groups.forEach(function (g) {
      if (g.key === EXCLUDED) return;
      identities++;
      images += g.rows.length;
      if (g.info && g.info.kinds) flagged++;
      if (g.checked) checked++;
    });
    var summary = $("summary");
    summary.textContent = "";
    [[images, " images"], [identities, " identities"], [flagged, " flagged"], [checked, " checked"]].forEach(function (p, i) {
      if (i > 0) summary.appendChild(document.createTextNode(" · "));
      summary.appendChild(el("b", "", p[0].toLocaleString()));
      summary.appendChild(document.createTextNode(p[1]));
    });
    var excluded = S.groups.has(EXCLUDED) ? S.groups.get(EXCLUDED).rows.length : 0;
    if (excluded) summary.appendChild(document.createTextNode(" · " + excluded + " excluded"));
    summary.appendChild(document.createTextNode(" · eps " + S.data.eps));

    var state = $("save-state");
    var unsaved = S.pending.length + S.undone.size;
    var total = effectiveDecisions().length;
    $("decision-count").textContent = String(total);
    $("decision-count").className = "badge" + (unsaved ? " dirty" : "");
    $("act-save").classList.toggle("dirty", unsaved > 0);
    if (S.saving) {
      state.textContent = "Saving…";
      state.className = "save-state";
    } else if (unsaved > 0) {
      state.textContent = unsaved + " unsaved change" + (unsaved === 1 ? "" : "s") + (S.mode === "static" ? " (Save downloads the file)" : " (Ctrl+S saves)");
      state.className = "save-state dirty";
    } else {
      state.textContent = S.mode === "static" ? "Static copy: " + total + " decision(s), nothing new" : "All saved: " + total + " decision(s) in " + S.data.overrides.file;
      state.className = "save-state saved";
    }
    var shown = S.visible.length - (S.visible.length > 0 && S.visible[S.visible.length - 1] === EXCLUDED ? 1 : 0);
    $("counts").textContent = shown.toLocaleString() + " of " + identities.toLocaleString() + " identities shown";
    $("act-undo").disabled = total + S.undone.size === 0 && S.pending.length === 0;

    var sel = $("selection");
    sel.textContent = "";
    var picked = S.pickedGroups.size;
    var rows = S.selectedRows.size;
    if (picked || rows) {
      if (picked) {
        sel.appendChild(el("b", "", String(picked)));
        sel.appendChild(document.createTextNode(picked === 1 ? " identity" : " identities"));
      }
      if (picked && rows) sel.appendChild(document.createTextNode(" and "));
      if (rows) {
        var from = new Set();
        S.selectedRows.forEach(function (r) { from.add(groupOfRow(r)); });
        sel.appendChild(el("b", "", String(rows)));
        sel.appendChild(document.createTextNode((rows === 1 ? " image" : " images") + " (from " + from.size + (from.size === 1 ? " identity" : " identities") + ")"));
      }
      sel.appendChild(document.createTextNode(" selected"));
    }
    $("act-clear").hidden = !(picked || rows);
    $("act-merge").disabled = picked < 2;
    $("act-split").disabled = rows === 0;
    $("act-move").disabled = rows === 0;
    $("act-exclude").disabled = rows === 0;
    $("act-check").disabled = S.focus === null || S.focus === EXCLUDED;
  }

  function groupOfRow(r) {
    if (S.result.excluded[r]) return EXCLUDED;
    return keyOf(S.result.labels[r], r);
  }

  // ---------- moves ----------

  function decision(action, images, extra) {
    var rows = S.data.rows;
    var files = images.map(function (sha) { return rows.file[S.rowOfSha.get(sha)]; });
    var d = { id: D.newDecisionId(new Date()), action: action, images: images };
    if (extra && extra.into) d.into = extra.into;
    d.files = files;
    d.who = S.reviewer || "unknown";
    d.when = new Date().toISOString();
    if (extra && extra.why) d.why = extra.why;
    return d;
  }

  function push(d, message) {
    S.pending.push(d);
    S.exported = false;
    recompute(false);
    setMessage(message + " (u undoes)");
  }

  function selectedShas() {
    var seen = new Set();
    var out = [];
    Array.from(S.selectedRows).sort(function (a, b) { return a - b; }).forEach(function (r) {
      var sha = S.data.rows.sha[r];
      if (!seen.has(sha)) { seen.add(sha); out.push(sha); }
    });
    return out;
  }

  function merge() {
    var keys = Array.from(S.pickedGroups);
    if (keys.length < 2) return setMessage("Select two or more identities to merge (x or their checkbox).");
    var used = new Set();
    var images = [];
    keys.forEach(function (k) {
      var g = S.groups.get(k);
      for (var i = 0; i < g.rows.length; i++) {
        var sha = S.data.rows.sha[g.rows[i]];
        if (!used.has(sha)) { used.add(sha); images.push(sha); break; }
      }
    });
    S.pickedGroups.clear();
    push(decision("merge", images), "Merged " + keys.map(label).join(", "));
    focusGroup(groupOfRow(S.rowOfSha.get(images[0])));
  }

  function split() {
    var images = selectedShas();
    if (images.length === 0) return setMessage("Select images first (click them).");
    var from = new Set();
    S.selectedRows.forEach(function (r) { from.add(groupOfRow(r)); });
    if (from.size === 1) {
      var g = S.groups.get(Array.from(from)[0]);
      if (g && g.rows.every(function (r) { return S.selectedRows.has(r); })) return setMessage("That is the whole identity: select only the images that are someone else.");
    }
    var first = S.rowOfSha.get(images[0]);
    S.selectedRows.clear();
    push(decision("split", images), "Split " + images.length + " image(s) out into a new identity");
    focusGroup(groupOfRow(first));
  }

  function moveTo(key) {
    var images = selectedShas();
    if (images.length === 0) return setMessage("Select images first (click them).");
    var g = S.groups.get(key);
    if (!g || key === EXCLUDED) return setMessage("No identity " + String(key) + ".");
    var into = null;
    for (var i = 0; i < g.rows.length; i++) {
      if (!S.selectedRows.has(g.rows[i]) && images.indexOf(S.data.rows.sha[g.rows[i]]) < 0) { into = S.data.rows.sha[g.rows[i]]; break; }
    }
    if (!into) return setMessage("The selected images are all of " + label(key) + " already.");
    var anchorRow = g.rows[0];
    S.selectedRows.clear();
    push(decision("split", images, { into: into }), "Moved " + images.length + " image(s) into " + label(key));
    focusGroup(groupOfRow(anchorRow));
  }

  function exclude(why) {
    var images = selectedShas();
    if (images.length === 0) return setMessage("Select images first (click them).");
    S.selectedRows.clear();
    push(decision("exclude", images, { why: why }), "Excluded " + images.length + " image(s): " + why);
  }

  function markChecked(key) {
    var g = S.groups.get(key);
    if (!g || key === EXCLUDED) return setMessage("Focus an identity first (j / k, or click its name).");
    if (g.checked) return setMessage(label(key) + " is already checked.");
    if (key < 0) return setMessage("A noise image (cluster_id -1) is no identity of the release: merge it into one or split it out first.");
    var images = [];
    var seen = new Set();
    g.rows.forEach(function (r) {
      var sha = S.data.rows.sha[r];
      if (!seen.has(sha)) { seen.add(sha); images.push(sha); }
    });
    push(decision("check", images), "Marked " + label(key) + " as checked");
    var next = S.visible.indexOf(key) + 1;
    if (next > 0 && next < S.visible.length) focusGroup(S.visible[next]);
  }

  function describe(d) {
    var n = d.images.length;
    var files = (d.files || []).slice(0, 3).join(", ") + (n > 3 ? ", …" : "");
    if (d.action === "merge") return "merge of " + n + " identities (" + files + ")";
    if (d.action === "split") return (d.into ? "move of " : "split of ") + n + " image(s) (" + files + ")" + (d.into ? " into the identity of " + d.into.slice(0, 10) : " into a new identity");
    if (d.action === "exclude") return "exclusion of " + n + " image(s) (" + files + "): " + (d.why || "");
    return "check of an identity of " + n + " image(s) (" + files + ")";
  }

  function undo() {
    if (S.pending.length > 0) {
      var d = S.pending.pop();
      recompute(false);
      return setMessage("Undid the " + describe(d) + ".");
    }
    var live = S.saved.filter(function (x) { return !S.undone.has(x.id); });
    if (live.length === 0) return setMessage("Nothing to undo.");
    var last = live[live.length - 1];
    S.undone.add(last.id);
    recompute(false);
    setMessage("Undid the saved " + describe(last) + "; Save to remove it from the file.");
  }

  function undoById(id) {
    var i = S.pending.findIndex(function (d) { return d.id === id; });
    if (i >= 0) S.pending.splice(i, 1);
    else if (S.undone.has(id)) S.undone.delete(id);
    else S.undone.add(id);
    recompute(false);
    renderDecisions();
  }

  // ---------- saving ----------

  function save() {
    if (S.saving) return;
    if (S.reloading) return setMessage("Wait: the file is being reloaded.");
    if (S.mode === "static") return exportYaml();
    if (!dirty()) return setMessage("Nothing to save.");
    S.saving = true;
    updateChrome();
    var body = JSON.stringify({ base: S.data.overrides.sha256, decisions: effectiveDecisions() });
    fetch("api/decisions" + query, { method: "POST", headers: { "Content-Type": "application/json", "X-Review-Token": token }, body: body })
      .then(function (res) {
        return res.json().then(function (answer) { return { res: res, answer: answer }; });
      })
      .then(function (r) {
        if (r.res.status === 409) {
          S.saving = false;
          updateChrome();
          showBanner([r.answer.error], "error", { label: "Reload, keep my unsaved decisions", run: reloadKeeping });
          setMessage("Not saved: the file changed meanwhile.");
          return;
        }
        if (!r.res.ok) throw new Error(r.answer.error || "the server answered " + r.res.status);
        var count = r.answer.decisions;
        var anchor = S.focus;
        return fetchData().then(function (data) {
          S.saving = false;
          try { localStorage.removeItem(storageKey()); } catch (e) { /* off */ }
          start(data, null);
          if (anchor !== null && S.groups.has(anchor)) focusGroup(anchor);
          setMessage("Saved " + count + " decision(s) to " + data.overrides.file + ".");
        });
      })
      .catch(function (error) {
        S.saving = false;
        updateChrome();
        $("save-state").textContent = "Not saved";
        $("save-state").className = "save-state error";
        setMessage("Save failed: " + error.message);
      });
  }

  function reloadKeeping() {
    var keep = { pending: S.pending.slice(), undone: new Set(S.undone) };
    S.reloading = true;
    setMessage("Reloading the file…");
    fetchData().then(function (data) {
      S.reloading = false;
      try { localStorage.removeItem(storageKey()); } catch (e) { /* off */ }
      start(data, keep);
      setMessage("Reloaded the file as it is now; your " + keep.pending.length + " unsaved decision(s) are applied on top. Check them, then Save.");
    }, function (error) {
      S.reloading = false;
      setMessage("Reload failed: " + error.message);
    });
  }

  function exportYaml() {
    var decisions = effectiveDecisions();
    var yaml = D.decisionsToYaml(decisions, ["Exported from a static review copy of " + S.data.name + " on " + new Date().toISOString() + "; put it at " + S.data.overrides.file]);
    var blob = new Blob([yaml], { type: "application/x-yaml" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = S.data.overrides.file.split(/[\\/]/).pop() || "decisions.overrides.yaml";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    S.exported = true;
    setMessage("Downloaded " + a.download + " with " + decisions.length + " decision(s): put it at " + S.data.overrides.file + " on the build machine.");
  }

  // ---------- focus and navigation ----------

  function focusGroup(key) {
    if (key === null || key === undefined) return;
    if (!S.visible.includes(key) && S.groups.has(key)) {
      // A jump to an identity the filters hide: show everything.
      $("filter-kind").value = "all";
      $("filter-unchecked").checked = false;
      $("filter-min").value = "";
      $("filter-max").value = "";
      if (S.groups.get(key).rows.length === 1) $("filter-singles").checked = true;
      $("search").value = "";
      refreshKeepFocus();
    }
    var i = S.visible.indexOf(key);
    if (i < 0) return;
    S.focus = key;
    var list = $("list");
    var top = S.layout.y[i];
    var bottom = top + S.layout.h[i];
    if (top < list.scrollTop + 8 || bottom > list.scrollTop + list.clientHeight) list.scrollTop = Math.max(0, top - 60);
    S.version++;
    render();
    updateChrome();
  }

  function refreshKeepFocus() {
    var focus = S.focus;
    refresh(false);
    S.focus = focus;
  }

  function step(delta) {
    if (S.visible.length === 0) return;
    var i = S.focus === null ? -1 : S.visible.indexOf(S.focus);
    var next = i < 0 ? 0 : Math.min(S.visible.length - 1, Math.max(0, i + delta));
    focusGroup(S.visible[next]);
  }

  function togglePick(key) {
    if (key === EXCLUDED) return;
    if (S.pickedGroups.has(key)) S.pickedGroups.delete(key);
    else S.pickedGroups.add(key);
    S.version++;
    render();
    updateChrome();
  }

  function toggleRow(r, range) {
    var g = groupOfRow(r);
    if (g === EXCLUDED) {
      var by = findDecision(S.result.excludedBy.get(S.data.rows.sha[r]));
      return setMessage("Excluded" + (by ? " by " + by.who + ": " + by.why : "") + ". Undo it in Decisions (d).");
    }
    if (range && S.anchorRow >= 0 && groupOfRow(S.anchorRow) === g) {
      var rows = S.groups.get(g).rows;
      var a = rows.indexOf(S.anchorRow), b = rows.indexOf(r);
      for (var i = Math.min(a, b); i <= Math.max(a, b); i++) S.selectedRows.add(rows[i]);
    } else if (S.selectedRows.has(r)) S.selectedRows.delete(r);
    else S.selectedRows.add(r);
    S.anchorRow = r;
    S.focus = g;
    S.version++;
    render();
    updateChrome();
  }

  function selectAllOf(key) {
    var g = S.groups.get(key);
    if (!g || key === EXCLUDED) return;
    var all = g.rows.every(function (r) { return S.selectedRows.has(r); });
    g.rows.forEach(function (r) { if (all) S.selectedRows.delete(r); else S.selectedRows.add(r); });
    S.version++;
    render();
    updateChrome();
  }

  function clearSelection() {
    S.selectedRows.clear();
    S.pickedGroups.clear();
    S.version++;
    render();
    updateChrome();
  }

  function copy(text) {
    var done = function () { setMessage("Copied " + text); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function () { setMessage(text); });
    else setMessage(text);
  }

  // ---------- dialogs ----------

  function openDialog(id) {
    var d = $(id);
    if (!d.open) d.showModal();
    return d;
  }

  function askExclude() {
    var n = selectedShas().length;
    if (n === 0) return setMessage("Select images first (click them).");
    $("exclude-count").textContent = n + (n === 1 ? " image" : " images");
    var input = $("exclude-reason");
    input.value = "";
    openDialog("exclude-dialog");
    input.focus();
  }

  function confirmExclude() {
    var why = $("exclude-reason").value.trim();
    if (!why) {
      $("exclude-reason").focus();
      return setMessage("Say why (required).");
    }
    $("exclude-dialog").close();
    exclude(why);
  }

  function askMove() {
    if (S.selectedRows.size === 0) return setMessage("Select images first (click them).");
    var from = new Set();
    S.selectedRows.forEach(function (r) { from.add(groupOfRow(r)); });
    if (S.focus !== null && S.focus !== EXCLUDED && !from.has(S.focus)) return moveTo(S.focus);
    $("move-count").textContent = S.selectedRows.size + (S.selectedRows.size === 1 ? " image" : " images");
    var box = $("move-suggestions");
    box.textContent = "";
    var seen = new Set();
    from.forEach(function (k) {
      var g = S.groups.get(k);
      var info = g && g.info;
      [info && info.nearKey, info && info.ambKey].forEach(function (cand) {
        if (cand === null || cand === undefined || seen.has(cand) || from.has(cand) || !S.groups.has(cand)) return;
        seen.add(cand);
        var b = el("button", "", label(cand) + " (" + S.groups.get(cand).rows.length + ")");
        b.type = "button";
        b.addEventListener("click", function () { $("move-dialog").close(); moveTo(cand); });
        box.appendChild(b);
      });
    });
    if (seen.size === 0) box.appendChild(el("span", "muted", "no near identity known; type an id"));
    $("move-target").value = "";
    openDialog("move-dialog");
    $("move-target").focus();
  }

  function confirmMove() {
    var text = $("move-target").value.trim().replace(/^#/, "");
    var key = /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!S.groups.has(key)) return setMessage("No identity #" + text + ".");
    $("move-dialog").close();
    moveTo(key);
  }

  function renderDecisions() {
    var list = $("decisions-list");
    list.textContent = "";
    $("decisions-file").textContent = (S.mode === "static" ? "Static copy; Save downloads the file for " : "File: ") + S.data.overrides.file + (S.data.overrides.sha256 ? " (SHA-256 " + S.data.overrides.sha256.slice(0, 12) + ")" : " (not written yet)");
    var all = S.saved.map(function (d) { return { d: d, saved: true }; }).concat(S.pending.map(function (d) { return { d: d, saved: false }; }));
    if (all.length === 0) list.appendChild(el("li", "muted", "No decisions yet."));
    all.forEach(function (item) {
      var d = item.d;
      var li = el("li", item.saved ? (S.undone.has(d.id) ? "undone" : "") : "unsaved");
      li.appendChild(el("span", "what", d.action));
      li.appendChild(document.createTextNode(": " + describe(d) + " "));
      li.appendChild(el("span", "when", "— " + d.who + ", " + d.when.replace("T", " ").slice(0, 19)));
      var b = el("button", "", S.undone.has(d.id) ? "restore" : "undo");
      b.type = "button";
      b.addEventListener("click", function () { undoById(d.id); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  // ---------- events ----------

  function onListClick(event) {
    var t = event.target;
    var actEl = t.closest("[data-act]");
    var card = t.closest(".card");
    if (!card) return;
    var key = card.dataset.key === EXCLUDED ? EXCLUDED : Number(card.dataset.key);
    var act = actEl ? actEl.dataset.act : null;
    if (act === "copy") return copy(S.data.rows.sha[Number(t.closest(".cell").dataset.row)]);
    if (act === "pick") {
      event.preventDefault();
      S.focus = key;
      return togglePick(key);
    }
    if (act === "check") return markChecked(key);
    if (act === "move-here") return moveTo(key);
    if (act === "expand") {
      S.expanded.add(key);
      return refreshKeepFocus();
    }
    if (act === "jump") return focusGroup(Number(actEl.dataset.to));
    var cell = t.closest(".cell");
    if (cell) return toggleRow(Number(cell.dataset.row), event.shiftKey);
    S.focus = key;
    S.version++;
    render();
    updateChrome();
  }

  /** Whether keys go to a text field or a list box (a checkbox or button leaves them to the shortcuts). */
  function typing(target) {
    if (!target) return false;
    if (target.tagName === "INPUT") return ["checkbox", "radio", "button"].indexOf(target.type) < 0;
    return target.tagName === "SELECT" || target.tagName === "TEXTAREA";
  }

  function onKey(event) {
    var open = document.querySelector("dialog[open]");
    if (open) {
      if (event.key === "Enter" && open.id === "exclude-dialog") { event.preventDefault(); confirmExclude(); }
      if (event.key === "Enter" && open.id === "move-dialog") { event.preventDefault(); confirmMove(); }
      return; // Escape closes a dialog by itself
    }
    var mod = event.ctrlKey || event.metaKey;
    if (mod && event.key.toLowerCase() === "s") { event.preventDefault(); return save(); }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); $("list").focus(); }
      if (event.key === "Enter" && event.target.id === "search") { event.target.blur(); $("list").focus(); if (S.visible.length) focusGroup(S.visible[0]); }
      return;
    }
    if (mod && event.key.toLowerCase() === "z") { event.preventDefault(); return undo(); }
    if (mod || event.altKey) return;
    var handled = true;
    switch (event.key) {
      case "j": case "ArrowDown": step(1); break;
      case "k": case "ArrowUp": step(-1); break;
      case "x": case " ": if (S.focus !== null) togglePick(S.focus); break;
      case "a": if (S.focus !== null) selectAllOf(S.focus); break;
      case "m": merge(); break;
      case "s": split(); break;
      case "t": askMove(); break;
      case "e": askExclude(); break;
      case "c": markChecked(S.focus); break;
      case "u": undo(); break;
      case "n": {
        var g = S.focus !== null ? S.groups.get(S.focus) : null;
        var to = g && g.info ? (g.info.nearKey !== null ? g.info.nearKey : g.info.ambKey) : null;
        if (to !== null && to !== undefined) focusGroup(to);
        else setMessage("No near identity known for this one.");
        break;
      }
      case "/": $("search").focus(); break;
      case "d": renderDecisions(); openDialog("decisions-dialog"); break;
      case "?": openDialog("help-dialog"); break;
      case "Escape": clearSelection(); setMessage(""); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  }

  function wire() {
    var list = $("list");
    list.addEventListener("scroll", onScroll, { passive: true });
    list.addEventListener("click", onListClick);
    window.addEventListener("resize", function () { if (S.data) { refreshKeepFocus(); } });
    document.addEventListener("keydown", onKey);
    var searchTimer = 0;
    $("search").addEventListener("input", function () {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(function () { list.scrollTop = 0; refreshKeepFocus(); }, 120);
    });
    ["filter-kind", "filter-unchecked", "filter-singles", "filter-min", "filter-max", "sort"].forEach(function (id) {
      $(id).addEventListener("change", function () { list.scrollTop = 0; refreshKeepFocus(); });
    });
    $("act-merge").addEventListener("click", merge);
    $("act-split").addEventListener("click", split);
    $("act-move").addEventListener("click", askMove);
    $("act-exclude").addEventListener("click", askExclude);
    $("act-check").addEventListener("click", function () { markChecked(S.focus); });
    $("act-undo").addEventListener("click", undo);
    $("act-save").addEventListener("click", save);
    $("act-clear").addEventListener("click", clearSelection);
    $("act-help").addEventListener("click", function () { openDialog("help-dialog"); });
    $("act-decisions").addEventListener("click", function () { renderDecisions(); openDialog("decisions-dialog"); });
    $("exclude-ok").addEventListener("click", confirmExclude);
    $("exclude-cancel").addEventListener("click", function () { $("exclude-dialog").close(); });
    $("move-ok").addEventListener("click", confirmMove);
    $("move-cancel").addEventListener("click", function () { $("move-dialog").close(); });
    Array.prototype.forEach.call(document.querySelectorAll("#exclude-dialog [data-reason]"), function (b) {
      b.addEventListener("click", function () { $("exclude-reason").value = b.dataset.reason; $("exclude-reason").focus(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-close]"), function (b) {
      b.addEventListener("click", function () { b.closest("dialog").close(); });
    });
    $("reviewer").addEventListener("change", function () {
      S.reviewer = $("reviewer").value.trim() || S.data.reviewer;
      try { localStorage.setItem("idclusters-review:reviewer", S.reviewer); } catch (e) { /* off */ }
    });
    window.addEventListener("beforeunload", function (event) {
      if (S.data && dirty() && !(S.mode === "static" && S.exported)) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }

  wire();
  load();
})();
