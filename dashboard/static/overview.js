/* The overview's charts (ECharts, served locally) and the 需要处理 panel: a countdown every
   second and a poll for new cases. Data comes from <script type="application/json"> blocks
   written by the server, so no inline script is needed under the Content-Security-Policy. */
(function () {
  "use strict";

  function readJSON(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  // --- charts ---------------------------------------------------------------------------

  function chartOption(spec) {
    var percent = !!spec.percent;
    var several = spec.series.length > 1;
    var category = { type: "category", data: spec.categories, axisLabel: { hideOverlap: true } };
    var value = { type: "value", axisLabel: { formatter: percent ? "{value}%" : "{value}" } };
    if (percent) {
      value.max = 100;
    } else {
      value.minInterval = 1; // counts: no 0.5 case
    }
    if (spec.horizontal) {
      category.inverse = true; // the first (largest) at the top, as in the table
    }
    var option = {
      // Screen readers get a description; decal patterns tell series apart without colour.
      aria: { enabled: true, decal: { show: true } },
      title: { text: spec.title, show: false }, // named in the aria description; the page has the heading
      animationDuration: 300,
      // Drawn on the canvas: no HTML tooltips, which the CSP's inline-style ban would break.
      tooltip: { trigger: "axis", renderMode: "richText", confine: true },
      grid: { left: 8, right: 28, top: several ? 36 : 12, bottom: 8, containLabel: true },
      xAxis: spec.horizontal ? value : category,
      yAxis: spec.horizontal ? category : value,
      series: spec.series.map(function (s) {
        var series = { name: s.name, type: spec.kind, data: s.data, barMaxWidth: 32 };
        if (spec.stack) {
          series.stack = "total";
        }
        if (spec.horizontal) {
          series.label = { show: true, position: "right" };
        }
        return series;
      })
    };
    if (several) {
      option.legend = { top: 0 };
    }
    if (spec.colors) {
      option.color = spec.colors;
    }
    return option;
  }

  function drawCharts() {
    var holders = document.querySelectorAll("[data-chart]");
    if (!holders.length || !window.echarts) {
      return;
    }
    var charts = [];
    holders.forEach(function (holder) {
      var spec = readJSON("data-" + holder.getAttribute("data-chart"));
      if (spec.horizontal) {
        holder.style.height = Math.max(160, 40 + 28 * spec.categories.length) + "px";
      }
      var chart = window.echarts.init(holder, null, { renderer: "canvas" });
      chart.setOption(chartOption(spec));
      charts.push(chart);
    });
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        charts.forEach(function (chart) { chart.resize(); });
      }, 150);
    });
  }

  // --- the 需要处理 panel ----------------------------------------------------------------

  var config = readJSON("poll-config");
  var labels = config ? config.labels : {};
  var skew = 0; // server clock minus this browser's clock, in ms

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // The same texts as dashboard/overview.py's time_left().
  function timeLeft(seconds) {
    if (seconds === null) {
      return labels.none;
    }
    var whole = Math.floor(Math.abs(seconds));
    var days = Math.floor(whole / 86400);
    var hours = Math.floor((whole % 86400) / 3600);
    var minutes = Math.floor((whole % 3600) / 60);
    var secs = whole % 60;
    var span;
    if (days) {
      span = fill(labels.days, { d: days, h: hours });
    } else if (hours) {
      span = fill(labels.hours, { h: hours, m: pad(minutes) });
    } else {
      span = fill(labels.minutes, { m: minutes, s: pad(secs) });
    }
    return fill(seconds < 0 ? labels.overdue : labels.left, { span: span });
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll(".countdown[data-due]").forEach(function (element) {
      var seconds = (Date.parse(element.getAttribute("data-due")) - now) / 1000;
      element.textContent = timeLeft(seconds);
      element.classList.toggle("overdue", seconds < 0);
    });
  }

  function cell(row, className) {
    var td = document.createElement("td");
    if (className) {
      td.className = className;
    }
    row.appendChild(td);
    return td;
  }

  var SEVERITY_CLASS = { "重大": "major", "较大": "serious" };

  function caseRow(item, fresh) {
    var row = document.createElement("tr");
    row.setAttribute("data-case", item.id);
    if (fresh) {
      row.className = "table-warning fresh";
    }
    var left = cell(row, "time-left");
    var span = document.createElement("span");
    if (item.answered) {
      span.className = "text-secondary";
      span.textContent = item.status_label;
    } else {
      span.className = "countdown";
      if (item.due_at) {
        span.setAttribute("data-due", item.due_at);
      }
      span.textContent = item.time_left;
    }
    left.appendChild(span);
    var badge = document.createElement("span");
    badge.className = "badge severity severity-" + (SEVERITY_CLASS[item.severity] || "general");
    badge.textContent = item.severity_label;
    cell(row).appendChild(badge);
    var title = cell(row);
    var link = document.createElement("a");
    link.href = item.url;
    link.textContent = item.title;
    title.appendChild(link);
    var number = document.createElement("span");
    number.className = "text-secondary small";
    number.textContent = " #" + item.id;
    title.appendChild(number);
    cell(row, "d-none d-md-table-cell").textContent = item.status_label;
    cell(row, "d-none d-md-table-cell").textContent = item.department;
    return row;
  }

  var FRESH_MS = 5 * 60 * 1000; // a new case stays highlighted this long
  var polls = 0;

  // known: case id → when it first appeared here (0: it was on the page from the start).
  function render(data, known) {
    var table = document.querySelector("table.due-cases");
    var body = table.tBodies[0];
    var rows = document.createDocumentFragment();
    var arrived = 0;
    var now = Date.now();
    data.cases.forEach(function (item) {
      if (!known.has(item.id)) {
        known.set(item.id, now);
        arrived += 1;
      }
      var since = known.get(item.id);
      rows.appendChild(caseRow(item, since > 0 && now - since < FRESH_MS));
    });
    if (!data.cases.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      var td = cell(empty);
      td.colSpan = 5;
      td.textContent = table.getAttribute("data-empty");
      rows.appendChild(empty);
    }
    body.replaceChildren(rows);
    polls += 1;
    table.setAttribute("data-polls", polls); // lets a test wait for the next refresh
    document.getElementById("attention-total").textContent = data.total;
    Object.keys(data.counts || {}).forEach(function (name) {
      var figure = document.querySelector('[data-count="' + name + '"]');
      if (figure) {
        figure.textContent = data.counts[name];
      }
    });
    if (arrived) {
      document.getElementById("attention-news").textContent = fill(labels.arrived, { n: arrived });
    }
  }

  function startPanel() {
    if (!config) {
      return;
    }
    var known = new Map(config.known.map(function (id) { return [id, 0]; }));
    skew = Date.parse(config.now) - Date.now();
    tick();
    window.setInterval(tick, 1000);
    function poll() {
      window.fetch(config.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          if (!response.ok || !json) {
            throw new Error("poll failed: " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          skew = Date.parse(data.now) - Date.now();
          render(data, known);
          tick();
        })
        .catch(function () {
          // Logged out or the server is away: say so once, keep the list, try again later.
          document.getElementById("attention-news").textContent = labels.stale;
        });
    }
    window.setInterval(poll, Math.max(2, config.seconds) * 1000);
  }

  drawCharts();
  startPanel();
})();
