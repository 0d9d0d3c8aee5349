// Overview page (#/overview): inventory totals and two bar charts, from GET /api/v1/overview.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, fill, $, loadedPage } = S.ui;
  const { barChart, dayTick } = S.charts;

  function tile(testid, title, value, note, href) {
    const number = h('span', { class: 'tile-value', testid: `${testid}-value` }, String(Number(value) || 0));
    return h('a', { class: 'tile', href, testid },
      h('span', { class: 'tile-title' }, title),
      number,
      h('span', { class: 'tile-note' }, note));
  }

  function render(data) {
    const issued = Array.isArray(data.issuedPerDay) ? data.issuedPerDay : [];
    const expiring = Array.isArray(data.expiringPerDay) ? data.expiringPerDay : [];
    const issuedTotal = issued.reduce((s, d) => s + (Number(d.count) || 0), 0);
    const expiringTotal = expiring.reduce((s, d) => s + (Number(d.count) || 0), 0);

    const tiles = h('div', { class: 'tiles' },
      tile('total-active', 'Active certificates', data.active, 'Issued, not revoked, not superseded, not expired.', '#/certificates?state=active'),
      tile('total-expiring', 'Expiring within 30 days', data.expiringIn30Days, 'Active certificates whose notAfter is in the next 30 days.', '#/certificates?state=active&expiring=30&sort=notAfter'),
      tile('total-revoked', 'Revoked', data.revoked, 'On the CRL; OCSP answers \u201crevoked\u201d.', '#/certificates?state=revoked'));

    const superseded = h('p', { class: 'note' },
      'Superseded by a renewal: ',
      h('a', { href: '#/certificates?state=superseded', testid: 'total-superseded' }, String(Number(data.superseded) || 0)),
      '. Superseded is not revoked: relying parties accept these certificates until they expire.');

    const charts = h('div', { class: 'charts' },
      h('section', { class: 'panel', 'aria-label': 'Issued per day' },
        barChart({
          title: 'Certificates issued per day, last 30 days (UTC)',
          points: issued.map((d) => ({ label: d.day, tick: dayTick(d.day), values: { count: d.count } })),
          series: [{ key: 'count', name: 'issued', className: 'fill-primary' }],
          xAxisLabel: 'Day of issue (UTC)',
          testid: 'chart-issued',
        }),
        h('p', { class: 'note' }, `${issuedTotal} issued in these ${issued.length} days.`)),
      h('section', { class: 'panel', 'aria-label': 'Expiring per day' },
        barChart({
          title: 'Certificates expiring per day, next 90 days (UTC)',
          points: expiring.map((d) => ({ label: d.day, tick: dayTick(d.day), values: { count: d.count } })),
          series: [{ key: 'count', name: 'expiring', className: 'fill-amber' }],
          xAxisLabel: 'Day of notAfter (UTC)',
          testid: 'chart-expiring',
        }),
        h('p', { class: 'note' }, `${expiringTotal} expire in these ${expiring.length} days.`)));

    fill($('#overview-content'), tiles, superseded, charts);
  }

  S.pages = S.pages || {};
  S.pages.overview = loadedPage('overview', {
    fetch: async () => (await S.api.overview()) || {},
    render,
    what: 'overview',
    label: 'Overview',
  });
})();
