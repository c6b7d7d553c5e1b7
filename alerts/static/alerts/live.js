// The live operations page (alerts/live.py, docs/realtime.md). No build step: plain browser JS.
// It opens /ws with the session cookie, subscribes to the topics the user may read, shows every
// event in the stream and refetches the page state when HEAD, the schema or an alert changed.
// A dropped socket reconnects by itself with ?since=<last event id>, so no event is missed.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("live-config").textContent);
  let state = JSON.parse(document.getElementById("live-state").textContent);
  let lastEventId = state.last_event_id || 0;
  let socket = null;
  let retries = 0;
  let refreshTimer = null;
  let staleTimer = null;
  const charts = {};
  const STREAM_LIMIT = 200;
  const REFRESHING_TYPES = /^(ddl|commit|branch|merge|revert|alert)\./;

  const $ = (id) => document.getElementById(id);

  function element(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    Object.entries(attributes || {}).forEach(([name, value]) => node.setAttribute(name, value));
    return node;
  }

  function row(cells, attributes) {
    const tr = element("tr", null, attributes);
    cells.forEach((cell) => {
      const td = element("td");
      if (cell instanceof Node) td.appendChild(cell);
      else td.textContent = cell === null || cell === undefined ? "" : String(cell);
      tr.appendChild(td);
    });
    return tr;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleTimeString() : "";
  }

  function number(value) {
    return value === null || value === undefined ? "" : Number(value).toFixed(1);
  }

  // --- connection ---------------------------------------------------------------------------

  function setConnection(text, name) {
    const node = $("connection-state");
    node.textContent = text;
    node.dataset.state = name;
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${window.location.host}${config.socket_path}?since=${lastEventId}`;
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      retries = 0;
      if (config.topics.length) {
        socket.send(JSON.stringify({ action: "subscribe", topics: config.topics }));
      }
      watchStaleness();
    });
    socket.addEventListener("message", (message) => {
      watchStaleness();
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (data.type === "subscribed") setConnection("live", "live");
      else if (data.type === "event") onEvent(data.event);
      else if (data.type === "error") setConnection(`error: ${data.message}`, "error");
    });
    socket.addEventListener("close", (closed) => {
      clearTimeout(staleTimer);
      if (closed.code === 4401 || closed.code === 4403) {
        // the session ended or lost its rights: reconnecting would not help; a reload logs in
        setConnection(`closed (${closed.code}): reload the page to log in again`, "closed");
        return;
      }
      retries += 1;
      const delay = Math.min(1000 * 2 ** Math.min(retries - 1, 4), 15000);
      setConnection(`reconnecting in ${Math.round(delay / 1000)} s…`, "reconnecting");
      setTimeout(connect, delay);
    });
  }

  function watchStaleness() {
    // heartbeats come every heartbeat_seconds: silence for much longer means a dead connection
    clearTimeout(staleTimer);
    staleTimer = setTimeout(() => socket && socket.close(), (config.heartbeat_seconds * 2 + 10) * 1000);
  }

  // --- events -----------------------------------------------------------------------------------

  function describe(event) {
    const data = event.data || {};
    if (event.type === "ddl.captured") {
      const objects = Array.isArray(data.objects)
        ? data.objects.map((o) => (typeof o === "string" ? o : o.identity || o.name || JSON.stringify(o)))
        : [];
      return `${data.command_tag || "DDL"} ${objects.join(", ")} by ${data.actor || data.role || "?"}`;
    }
    if (event.type.startsWith("alert.")) return `[${data.severity || ""}] ${data.title || ""} (#${data.alert_id}) ${data.status || ""}`;
    if (event.type === "commit.created") return `${(data.hash || data.commit || "").slice(0, 12)} ${data.message || ""}`;
    if (data.branch) return `branch ${data.branch}`;
    return JSON.stringify(data).slice(0, 160);
  }

  function addToStream(event) {
    const list = $("event-stream");
    const item = element("li", null, { "data-event-id": event.id, "data-event-type": event.type });
    item.appendChild(element("span", `#${event.id}`, { class: "live-id" }));
    item.appendChild(element("span", when(event.occurred_at), { class: "live-time" }));
    item.appendChild(element("strong", event.type));
    item.appendChild(element("span", describe(event), { class: "live-summary" }));
    list.insertBefore(item, list.firstChild);
    while (list.children.length > STREAM_LIMIT) list.removeChild(list.lastChild);
  }

  function onEvent(event) {
    if (event.id <= lastEventId && document.querySelector(`[data-event-id="${event.id}"]`)) return;
    lastEventId = Math.max(lastEventId, event.id);
    $("last-event-id").textContent = `#${lastEventId}`;
    addToStream(event);
    if (REFRESHING_TYPES.test(event.type)) scheduleRefresh();
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 250);
  }

  async function refresh() {
    try {
      const response = await fetch(config.state_url, { credentials: "same-origin" });
      if (!response.ok) return;
      state = await response.json();
      render(false);
    } catch (error) {
      scheduleRefresh();
    }
  }

  // --- sections -----------------------------------------------------------------------------------

  function renderStatus() {
    const box = $("head-status");
    const body = $("working-changes");
    box.textContent = "";
    body.textContent = "";
    if (!state.status) {
      box.textContent = "You may not read the version control state.";
      return;
    }
    const s = state.status;
    box.appendChild(element("p", `HEAD: ${s.branch} @ ${(s.commit || "").slice(0, 12)} — ` +
      (s.clean ? "clean" : `${s.working_change_count} working change(s)`), { id: "head-line" }));
    s.working_changes.forEach((c) => {
      body.appendChild(row([c.change_type, `${c.schema_name}.${c.object_name}`, c.object_type, c.actor, when(c.captured_at)]));
    });
  }

  function actionButton(alert, action, label) {
    const button = element("button", label, { type: "button", class: "button", "data-action": action });
    button.addEventListener("click", () => act(alert.id, action, button));
    return button;
  }

  function renderAlerts() {
    const body = $("open-alerts");
    body.textContent = "";
    if (!state.alerts) {
      body.appendChild(row(["", "", "", "You may not read alerts."]));
      return;
    }
    if (!state.alerts.length) body.appendChild(row(["", "", "", "No open alert."]));
    state.alerts.forEach((alert) => {
      const actions = element("span");
      if (config.can_operate_alerts) {
        if (alert.status !== "acknowledged") actions.appendChild(actionButton(alert, "acknowledge", "Acknowledge"));
        actions.appendChild(actionButton(alert, "resolve", "Resolve"));
      }
      const status = element("span", alert.status, { class: "alert-status" });
      body.appendChild(row(
        [`#${alert.id}`, alert.severity, status, alert.title, alert.occurrences, when(alert.last_seen_at), actions],
        { "data-alert-id": alert.id, "data-status": alert.status, class: `severity-${alert.severity}` },
      ));
    });
  }

  async function act(alertId, action, button) {
    button.disabled = true;
    const token = document.querySelector("#live [name=csrfmiddlewaretoken]").value;
    const url = config.alert_action_url.replace("{id}", alertId).replace("{action}", action);
    const response = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token } });
    const body = await response.json().catch(() => ({}));
    $("action-message").textContent = response.ok
      ? `Alert #${alertId}: ${body.alert.status}.`
      : `Alert #${alertId}: ${body.detail || response.status}`;
    button.disabled = false;
    refresh();
  }

  function alignedSeries(trends, field) {
    const names = Object.keys(trends).sort();
    const times = Array.from(new Set(names.flatMap((n) => trends[n].map((p) => Date.parse(p.bucket) / 1000)))).sort((a, b) => a - b);
    const columns = names.map((name) => {
      const byTime = new Map(trends[name].map((p) => [Date.parse(p.bucket) / 1000, p[field]]));
      return times.map((t) => (byTime.has(t) ? Number(byTime.get(t)) : null));
    });
    return { names, data: [times, ...columns] };
  }

  const PALETTE = ["#417690", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#2c3e50", "#16a085", "#7f8c8d"];

  function renderChart(id, trends, field) {
    const target = $(id);
    const { names, data } = alignedSeries(trends, field);
    const key = names.join("|");
    if (!window.uPlot || !names.length) {
      target.textContent = names.length ? "" : "No operation in this window.";
      if (charts[id]) { charts[id].chart.destroy(); delete charts[id]; }
      return;
    }
    if (charts[id] && charts[id].key === key) {
      charts[id].chart.setData(data);
      return;
    }
    if (charts[id]) charts[id].chart.destroy();
    target.textContent = "";
    const options = {
      width: Math.max(target.clientWidth || 520, 320),
      height: 200,
      series: [{}, ...names.map((name, i) => ({ label: name, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true }))],
      axes: [{}, { size: 60 }],
    };
    charts[id] = { key, chart: new window.uPlot(options, data, target) };
  }

  function renderTimings() {
    const summary = $("timings-summary");
    summary.textContent = "";
    if (!state.timings) {
      summary.appendChild(row(["You may not read operation timings."]));
      return;
    }
    $("timings-window").textContent = `(last ${state.timings.window_hours} h, ${state.timings.bucket_minutes}-minute intervals)`;
    state.timings.summary.forEach((s) => {
      summary.appendChild(row([s.operation, s.runs, s.failures, number(s.p50_ms), number(s.p95_ms), number(s.max_ms)]));
    });
    renderChart("chart-p95", state.timings.trends, "p95_ms");
    renderChart("chart-runs", state.timings.trends, "runs");
  }

  function render(withEvents) {
    renderStatus();
    renderAlerts();
    renderTimings();
    if (withEvents) state.events.forEach(addToStream);
    $("last-event-id").textContent = `#${lastEventId}`;
  }

  render(true);
  connect();
})();
