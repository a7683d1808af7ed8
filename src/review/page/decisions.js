/*
 * The review page's decision logic, without any DOM: a line-for-line port of
 * src/identities/apply-overrides.ts (the page recomputes the clusters after every move, undo
 * included, and the static copy has no server), the decisions file in YAML for the static copy's
 * Save, and decision ids. A classic script (the static copy must work from file://, where module
 * scripts are refused), so it publishes one global, `IdReviewDecisions`.
 * src/review/decisions.spec.ts checks the port against applyOverrides and the YAML against
 * parseOverrides.
 */
(function (global) {
  "use strict";

  var ACTIONS = ["merge", "split", "exclude", "check"];

  /**
   * Applies decisions in order to the labels, exactly as applyOverrides does.
   * @param {{labels: ArrayLike<number>, keys: string[], fileNames?: string[], noIdentity?: ArrayLike<number>, absent?: Map<string, string>, decisions: object[]}} params
   * @returns {{labels: Int32Array, excluded: Uint8Array, checkedRows: Uint8Array, appliedIds: string[], problems: object[], excludedBy: Map<string, string>}}
   */
  function applyDecisions(params) {
    var n = params.labels.length;
    var keys = params.keys;
    var labels = new Int32Array(n);
    var excluded = new Uint8Array(n);
    var excludedBy = new Map(); // image -> id of the decision that excluded it (the page shows that decision)
    var excludedAt = new Map(); // image -> that decision's index
    var rowsOf = new Map();
    var next = 0;
    for (var i = 0; i < n; i++) {
      labels[i] = params.labels[i];
      var key = keys[i];
      if (key) {
        var found = rowsOf.get(key);
        if (found) found.push(i);
        else rowsOf.set(key, [i]);
      }
      if (labels[i] >= next) next = labels[i] + 1;
    }
    var members = new Map();
    for (i = 0; i < n; i++) {
      if (labels[i] < 0) continue;
      var set = members.get(labels[i]);
      if (!set) members.set(labels[i], (set = new Set()));
      set.add(i);
    }
    function relabel(row, label) {
      var old = labels[row];
      if (old === label) return;
      if (old >= 0 && members.get(old)) members.get(old).delete(row);
      labels[row] = label;
      var s = members.get(label);
      if (!s) members.set(label, (s = new Set()));
      s.add(row);
    }
    function identityOf(row) {
      if (labels[row] < 0) relabel(row, next++);
      return labels[row];
    }

    var problems = [];
    var appliedIds = [];
    var checks = [];
    params.decisions.forEach(function (decision, index) {
      var pending = [];
      function report(kind, image, why) {
        pending.push({ kind: kind, index: index, decision: decision.id, action: decision.action, image: image, message: "decisions[" + index + "] (" + decision.action + " " + decision.id + ", by " + decision.who + "): image " + image.slice(0, 12) + " " + why });
      }
      function usable(images) {
        var rows = [];
        images.forEach(function (image) {
          var found = rowsOf.get(image);
          if (!found) report("missing", image, (params.absent && params.absent.get(image)) || "is not in this build (removed from the source?)");
          else if (decision.action !== "exclude" && found.every(function (row) { return params.noIdentity && params.noIdentity[row] === 1; })) {
            report("missing", image, "has no detected face: it has no identity to merge, split, move into or check");
          } else if (excludedBy.has(image) && decision.action !== "exclude") report("contradiction", image, "was excluded by decisions[" + excludedAt.get(image) + "] (" + excludedBy.get(image) + ")");
          else rows.push.apply(rows, found);
        });
        return rows;
      }
      var done = false;
      var rows;
      switch (decision.action) {
        case "exclude":
          rows = usable(decision.images);
          rows.forEach(function (row) { excluded[row] = 1; });
          decision.images.forEach(function (image) {
            if (rowsOf.has(image) && !excludedBy.has(image)) {
              excludedBy.set(image, decision.id);
              excludedAt.set(image, index);
            }
          });
          done = rows.length > 0;
          break;
        case "merge": {
          rows = usable(decision.images);
          var distinct = new Set(rows.map(function (r) { return keys[r]; }));
          if (distinct.size < 2 && decision.images.length >= 2 && rows.length > 0) break;
          if (rows.length === 0) break;
          var identities = Array.from(new Set(rows.map(identityOf))).sort(function (a, b) { return a - b; });
          var target = identities[0];
          identities.slice(1).forEach(function (id) {
            Array.from(members.get(id) || []).forEach(function (row) { relabel(row, target); });
          });
          done = true;
          break;
        }
        case "split": {
          if (decision.into !== undefined && decision.images.indexOf(decision.into) >= 0) {
            report("contradiction", decision.into, "is both moved and the destination");
            break;
          }
          rows = usable(decision.images);
          var into;
          if (decision.into !== undefined) {
            var intoRows = usable([decision.into]);
            if (intoRows.length === 0) break;
            into = identityOf(intoRows[0]);
          }
          if (rows.length === 0) break;
          if (into === undefined) into = next++;
          rows.forEach(function (row) { relabel(row, into); });
          done = true;
          break;
        }
        case "check":
          rows = usable(decision.images);
          checks.push(new Set(rows.map(function (r) { return keys[r]; })));
          done = rows.length > 0;
          break;
      }
      pending.forEach(function (p) { p.applied = done; problems.push(p); });
      if (done) appliedIds.push(decision.id);
    });

    // Noise rows (-1) and rows without a face are no identity of the release: never checked.
    var checkedRows = new Uint8Array(n);
    var groups = [];
    members.forEach(function (set) {
      var left = Array.from(set).filter(function (r) { return !excluded[r] && !(params.noIdentity && params.noIdentity[r] === 1); });
      if (left.length > 0) groups.push(left);
    });
    groups.forEach(function (rows) {
      var ok = checks.some(function (check) {
        return rows.every(function (r) { return typeof keys[r] === "string" && check.has(keys[r]); });
      });
      if (ok) rows.forEach(function (r) { checkedRows[r] = 1; });
    });
    return { labels: labels, excluded: excluded, checkedRows: checkedRows, appliedIds: appliedIds, problems: problems, excludedBy: excludedBy };
  }

  /** A YAML scalar that is always read back as this exact string (a JSON string is a YAML double-quoted scalar). */
  function quoted(text) {
    return JSON.stringify(String(text));
  }

  /**
   * The decisions file (overrides-file.ts's format, version 1) as YAML text.
   * @param {object[]} decisions
   * @param {string[]} [comments] lines put at the top, after the standard header
   */
  function decisionsToYaml(decisions, comments) {
    var lines = [
      "# Identity review decisions (idclusters review; the config's clustering.overrides).",
      "# Applied in order after DBSCAN, before stable ids. Images are keyed by the SHA-256 of their",
      "# source bytes, so the decisions survive new source revisions, re-sharding and re-numbering.",
    ];
    (comments || []).forEach(function (c) { lines.push("# " + String(c).replace(/[\r\n]+/g, " ")); });
    lines.push("");
    lines.push("version: 1");
    if (decisions.length === 0) {
      lines.push("decisions: []");
      return lines.join("\n") + "\n";
    }
    lines.push("decisions:");
    decisions.forEach(function (d) {
      if (ACTIONS.indexOf(d.action) < 0) throw new Error("unknown action " + d.action);
      lines.push("  - id: " + quoted(d.id));
      lines.push("    action: " + d.action);
      lines.push("    images:");
      d.images.forEach(function (sha) { lines.push("      - " + quoted(sha)); });
      if (d.into !== undefined) lines.push("    into: " + quoted(d.into));
      if (d.files !== undefined) {
        lines.push("    files:");
        d.files.forEach(function (f) { lines.push("      - " + quoted(f)); });
      }
      lines.push("    who: " + quoted(d.who));
      lines.push("    when: " + quoted(d.when));
      if (d.why !== undefined) lines.push("    why: " + quoted(d.why));
    });
    return lines.join("\n") + "\n";
  }

  /** A new decision id: the time (UTC, to the second) and 8 random hex digits, e.g. 20261202T174900Z-3f2a9c01. */
  function newDecisionId(now) {
    var iso = (now || new Date()).toISOString();
    var stamp = iso.slice(0, 19).replace(/[-:]/g, "") + "Z";
    var bytes = new Uint8Array(4);
    (global.crypto || {}).getRandomValues ? global.crypto.getRandomValues(bytes) : bytes.forEach(function (_, i) { bytes[i] = Math.floor(Math.random() * 256); });
    return stamp + "-" + Array.from(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  global.IdReviewDecisions = { ACTIONS: ACTIONS, applyDecisions: applyDecisions, decisionsToYaml: decisionsToYaml, newDecisionId: newDecisionId };
})(typeof window !== "undefined" ? window : globalThis);
