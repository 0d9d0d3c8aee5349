// Small bar charts drawn as inline SVG, with axis labels and an accessible title and summary.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, svg } = S.ui;

  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  let nextID = 0;

  function count(value) {
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? n : 0;
  }

  /** A y axis of whole numbers with at most about 4 steps of 1, 2 or 5 × 10^k. */
  function niceScale(max) {
    if (max <= 0) return { top: 1, step: 1 };
    const raw = max / 4;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / magnitude;
    let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
    if (step < 1) step = 1;
    return { top: Math.ceil(max / step) * step, step };
  }

  /** "2026-11-30" -> "30 Nov". */
  function dayTick(day) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day || '');
    return m ? `${Number(m[3])} ${MONTHS[Number(m[2]) - 1] || m[2]}` : String(day || '');
  }

  /** "2026-11-30T10:00:00Z" -> "10:00" (UTC). */
  function hourTick(hour) {
    const m = /T(\d{2}):(\d{2})/.exec(hour || '');
    return m ? `${m[1]}:${m[2]}` : String(hour || '');
  }

  /**
   * A (stacked) bar chart.
   *   title        what the chart shows (the SVG's <title>)
   *   summary      one or two sentences of what it says (the SVG's <desc>); default: totals and peak
   *   points       [{label: full text for the tooltip, tick: short axis text, values: {seriesKey: n}}]
   *   series       [{key, name, className}], stacked bottom-up in this order
   *   xAxisLabel   text under the x axis (e.g. "Day (UTC)")
   *   testid       data-testid of the <figure>
   */
  function barChart({ title, summary, points, series, xAxisLabel, testid }) {
    const W = 480;
    const H = 210;
    const ML = 40;
    const MR = 8;
    const MT = 10;
    const MB = 42;
    const plotW = W - ML - MR;
    const plotH = H - MT - MB;
    const n = points.length;
    const totals = points.map((p) => series.reduce((sum, s) => sum + count(p.values[s.key]), 0));
    const max = totals.length ? Math.max(...totals) : 0;
    const { top, step } = niceScale(max);
    const y = (v) => MT + plotH - (v / top) * plotH;
    const slot = plotW / Math.max(n, 1);
    const barW = Math.max(1, slot * 0.72);

    const id = `chart-${++nextID}`;
    const root = svg('svg', {
      class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-labelledby': `${id}-title ${id}-desc`, preserveAspectRatio: 'xMidYMid meet',
    });
    root.appendChild(svg('title', { id: `${id}-title` }, title));
    root.appendChild(svg('desc', { id: `${id}-desc` }, summary || defaultSummary(points, series, totals)));

    // Grid and y axis labels.
    const grid = svg('g', { class: 'chart-grid', 'aria-hidden': 'true' });
    for (let v = 0; v <= top + 1e-9; v += step) {
      const yy = y(v);
      grid.appendChild(svg('line', { x1: ML, x2: W - MR, y1: yy, y2: yy, class: v === 0 ? 'chart-axis' : 'chart-gridline' }));
      grid.appendChild(svg('text', { x: ML - 5, y: yy + 4, 'text-anchor': 'end', class: 'chart-label' }, String(v)));
    }
    root.appendChild(grid);

    // Bars, one group per point, with a tooltip.
    const bars = svg('g', { class: 'chart-bars' });
    points.forEach((p, i) => {
      const x = ML + i * slot + (slot - barW) / 2;
      const parts = series.map((s) => `${count(p.values[s.key])} ${s.name}`).join(', ');
      const g = svg('g', null, svg('title', null, `${p.label}: ${parts}`));
      g.appendChild(svg('rect', { x: ML + i * slot, y: MT, width: slot, height: plotH, class: 'chart-hit' }));
      let base = 0;
      for (const s of series) {
        const v = count(p.values[s.key]);
        if (!v) continue;
        const y0 = y(base);
        const y1 = y(base + v);
        g.appendChild(svg('rect', { x: x.toFixed(2), y: y1.toFixed(2), width: barW.toFixed(2), height: Math.max(0.5, y0 - y1).toFixed(2), class: `chart-bar ${s.className}` }));
        base += v;
      }
      bars.appendChild(g);
    });
    root.appendChild(bars);

    // X axis labels: about six, evenly spaced.
    const xAxis = svg('g', { class: 'chart-xaxis', 'aria-hidden': 'true' });
    const every = Math.max(1, Math.ceil(n / 6));
    points.forEach((p, i) => {
      if (i % every !== 0) return;
      const cx = ML + i * slot + slot / 2;
      xAxis.appendChild(svg('line', { x1: cx, x2: cx, y1: MT + plotH, y2: MT + plotH + 4, class: 'chart-axis' }));
      xAxis.appendChild(svg('text', { x: cx, y: MT + plotH + 16, 'text-anchor': 'middle', class: 'chart-label' }, p.tick));
    });
    if (xAxisLabel) {
      xAxis.appendChild(svg('text', { x: ML + plotW / 2, y: H - 4, 'text-anchor': 'middle', class: 'chart-label chart-axis-title' }, xAxisLabel));
    }
    root.appendChild(xAxis);

    const legend = series.length > 1
      ? h('ul', { class: 'legend' }, series.map((s) => h('li', null, h('span', { class: `swatch ${s.className}`, 'aria-hidden': 'true' }), s.name)))
      : null;
    return h('figure', { class: 'chart-figure', testid: testid || null },
      h('figcaption', null, title),
      root,
      legend);
  }

  function defaultSummary(points, series, totals) {
    if (!points.length) return 'No data.';
    const sums = series.map((s) => `${points.reduce((sum, p) => sum + count(p.values[s.key]), 0)} ${s.name}`);
    let peak = 0;
    totals.forEach((t, i) => { if (t > totals[peak]) peak = i; });
    const tail = totals[peak] > 0 ? ` Highest: ${totals[peak]} on ${points[peak].label}.` : '';
    return `${points.length} bars from ${points[0].label} to ${points[points.length - 1].label}. In all: ${sums.join(', ')}.${tail}`;
  }

  S.charts = { barChart, dayTick, hourTick, niceScale };
})();
