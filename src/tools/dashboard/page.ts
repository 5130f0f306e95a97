// The page and its stylesheet, as strings. The page script is browser/client.ts,
// bundled for the browser at build time (see assets.ts).

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Settings the script reads from the page. */
export interface PageConfig {
  title: string;
  subtitle: string;
  intervalMs: number;
  historySize: number;
}

export function renderPage(config: PageConfig): string {
  // JSON inside <script> must not be able to close the element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(config.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/uPlot.min.css">
<link rel="stylesheet" href="assets/dashboard.css">
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><div>
    <h1>${escapeHtml(config.title)}</h1>
    ${config.subtitle ? `<p class="subtitle">${escapeHtml(config.subtitle)}</p>` : ''}
  </div></div>
  <div class="status">
    <span id="clock" class="muted">t = 0 s</span>
    <span id="conn" class="pill conn connecting">connecting</span>
  </div>
</header>
<main>
  <section id="alerts" class="alerts" aria-live="polite"><span class="ok">No alerts firing</span></section>
  <section id="cards" class="cards"></section>
  <section class="log"><h2>Alert log</h2><ol id="alert-log"><li class="muted">No alert transitions yet</li></ol></section>
  <section class="log"><h2>Knob changes</h2><ol id="knob-log"><li class="muted">No runtime setting changes yet</li></ol></section>
</main>
<script id="sluice-config" type="application/json">${json}</script>
<script src="assets/uPlot.iife.min.js"></script>
<script src="assets/dashboard.js"></script>
</body>
</html>
`;
}

export const dashboardCss = `
:root {
  --bg: #0d1117; --panel: #151b26; --panel2: #1b2231; --border: #263043; --text: #e6e9ef; --muted: #8b95a8;
  --green: #3ddc97; --yellow: #ffd166; --orange: #ff9f43; --red: #ff4d6d; --blue: #4aa3ff; --violet: #a78bfa;
  font-family: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font-size: 14px; }
.muted { color: var(--muted); }
header.top { display: flex; justify-content: space-between; align-items: center; padding: 14px 24px;
  border-bottom: 1px solid var(--border); background: linear-gradient(180deg, #121826, #0d1117); position: sticky; top: 0; z-index: 5; }
.brand { display: flex; gap: 14px; align-items: center; }
.logo { width: 30px; height: 30px; border-radius: 8px; background: conic-gradient(from 200deg, var(--blue), var(--green), var(--blue));
  box-shadow: 0 0 18px rgba(74,163,255,.35); }
h1 { font-size: 19px; margin: 0; font-weight: 650; letter-spacing: .2px; }
.subtitle { margin: 2px 0 0; color: var(--muted); font-size: 13px; }
.status { display: flex; gap: 14px; align-items: center; font-variant-numeric: tabular-nums; }
.pill { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; line-height: 18px;
  border: 1px solid transparent; white-space: nowrap; }
.conn.live { background: rgba(61,220,151,.12); color: var(--green); border-color: rgba(61,220,151,.35); }
.conn.live::before { content: ""; display: inline-block; width: 7px; height: 7px; border-radius: 50%; background: var(--green);
  margin-right: 6px; vertical-align: 1px; animation: pulse 1.6s infinite; }
.conn.connecting, .conn.reconnecting { background: rgba(255,209,102,.12); color: var(--yellow); border-color: rgba(255,209,102,.35); }
.conn.ended { background: rgba(139,149,168,.12); color: var(--muted); border-color: var(--border); }
@keyframes pulse { 50% { opacity: .35; } }
main { padding: 16px 24px 32px; max-width: 1800px; margin: 0 auto; }
.alerts { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; min-height: 30px; margin-bottom: 14px; }
.alerts .ok { color: var(--green); font-size: 13px; }
.alert { background: rgba(255,77,109,.14); color: #ff8fa3; border: 1px solid rgba(255,77,109,.45); border-radius: 6px;
  padding: 4px 10px; font-size: 12.5px; font-weight: 600; }
.alert b { color: #fff; font-weight: 700; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 820px), 1fr)); gap: 16px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 12px; padding: 14px 16px 12px; min-width: 0; }
.card.firing { border-color: rgba(255,77,109,.6); box-shadow: 0 0 0 1px rgba(255,77,109,.25) inset; }
.card-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.card-head h2 { font-size: 16px; margin: 0 4px 0 0; font-weight: 650; }
.description { margin: 4px 0 0; color: var(--muted); font-size: 12.5px; }
.kind { color: var(--muted); font-size: 12px; border: 1px solid var(--border); border-radius: 5px; padding: 1px 6px; }
.badges { display: flex; gap: 6px; margin-left: auto; flex-wrap: wrap; }
.badges .alert { padding: 1px 8px; font-size: 11.5px; }
.kpis { display: flex; flex-wrap: wrap; gap: 8px 22px; margin: 10px 0 10px; }
.kpi { min-width: 90px; }
.kpi .v { font-size: 19px; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi .l { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .6px; }
.kpi.bad .v { color: #ff8fa3; }
.breakdown { display: flex; flex-wrap: wrap; gap: 10px 18px; }
.breakdown:empty { display: none; }
.breakdown table { border-collapse: collapse; font-size: 12.5px; font-variant-numeric: tabular-nums; margin: 0 0 10px; }
.breakdown caption { text-align: left; font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .6px; padding-bottom: 4px; }
.breakdown th { text-align: left; font-weight: 600; color: var(--muted); padding: 2px 12px 2px 0; }
.breakdown td { padding: 2px 12px 2px 0; }
.breakdown .bar-cell { display: flex; align-items: center; gap: 6px; }
.breakdown .bar { display: inline-block; width: 80px; height: 7px; border-radius: 3px; background: var(--panel2); overflow: hidden; }
.breakdown .bar i { display: block; height: 100%; background: #a78bfa; }
.breakdown .bar i.over { background: #ff9f43; }
.breakdown-empty { color: var(--green); font-size: 12.5px; margin: 0 0 10px; }
.band-wrap { margin: 2px 0 10px; }
.band-wrap canvas { width: 100%; height: 14px; display: block; border-radius: 4px; background: var(--panel2); }
.band-legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 11.5px; color: var(--muted); margin-top: 5px; }
.band-legend i { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 10px; }
.chart { background: var(--panel2); border: 1px solid var(--border); border-radius: 8px; padding: 8px 8px 4px; min-width: 0; position: relative; }
.chart h3 { margin: 0 0 4px 4px; font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .6px; }
.chart .empty { position: absolute; inset: 34px 8px 30px; display: flex; align-items: center; justify-content: center;
  color: var(--green); font-size: 13px; pointer-events: none; }
.chart .uplot { font-family: inherit; }
.chart .u-legend { font-size: 11.5px; color: var(--muted); text-align: left; padding-left: 6px; }
.chart .u-legend .u-series > * { padding: 1px 3px; }
.chart .u-legend .u-marker { width: 10px; height: 3px; border-radius: 2px; }
.error { color: #ff8fa3; margin-top: 8px; }
.log { margin-top: 18px; background: var(--panel); border: 1px solid var(--border); border-radius: 12px; padding: 10px 16px; }
.log h2 { font-size: 13px; margin: 0 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .6px; }
.log ol { list-style: none; margin: 0; padding: 0; font-size: 12.5px; font-variant-numeric: tabular-nums; max-height: 150px; overflow: auto; }
.log li { padding: 2px 0; }
.log .firing { color: #ff8fa3; } .log .resolved { color: var(--green); }
.log .knob b { font-weight: 650; }
`;
