// Overview page (#/overview): inventory totals and two bar charts, from GET /api/v1/overview, and
// the tile of the RA certificates and issuing CAs to renew, from a GET /api/v1/profiles of its own.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, fill, $, loadedPage, plural } = S.ui;
  const { barChart, dayTick } = S.charts;

  function tile(testid, title, value, note, href) {
    const number = h('span', { class: 'tile-value', testid: `${testid}-value` }, String(Number(value) || 0));
    return h('a', { class: 'tile', href, testid },
      h('span', { class: 'tile-title' }, title),
      number,
      h('span', { class: 'tile-note' }, note));
  }

  // The server's expiry badges from least to most urgent; a badge this console does not know ranks
  // above green and below amber.
  const URGENCY = { amber: 1, red: 2, expired: 3 };
  const worse = (a, b) => ((URGENCY[b] || 0.5) > (URGENCY[a] || 0.5) ? b : a);

  /**
   * From GET /api/v1/profiles: the RA certificates and the issuing CAs the server badges other
   * than green, each counted once however many profiles or edges share it; their most urgent
   * badge; and whether the RA certificates are unknown (the heartbeats unread, Redis).
   */
  function toRenew(list) {
    if (!Array.isArray(list)) throw new Error('The answer is not a list of profiles');
    const ras = new Map(); // RA fingerprint -> badge
    const cas = new Map(); // issuer name -> badge
    let rasUnknown = false;
    const note = (map, key, badgeName) => map.set(key, map.has(key) ? worse(map.get(key), badgeName) : badgeName);
    for (const entry of list) {
      if (!Array.isArray(entry.edges)) rasUnknown = true;
      for (const g of Array.isArray(entry.edges) ? entry.edges : []) {
        if (!g.raBadge || g.raBadge === 'green') continue;
        const ra = (g.settings && g.settings.ra) || {};
        const signing = (g.settings && g.settings.raSigning) || {};
        // A split RA counts once, by its two certificates.
        note(ras, String(ra.fingerprint ? `${ra.fingerprint} ${signing.fingerprint || ''}` : `${entry.name} ${g.edges}`), g.raBadge);
      }
      const issuer = entry.issuer || {};
      if (issuer.badge && issuer.badge !== 'green') note(cas, String(issuer.name || issuer.subject || entry.name), issuer.badge);
    }
    return { ras: ras.size, cas: cas.size, worst: [...ras.values(), ...cas.values()].reduce(worse, null), rasUnknown };
  }

  /**
   * The tile "Certificates expiring": drawn waiting, then filled when `renew` (toRenew's result, or
   * {error}) settles, unless a later load has replaced it. A failed read says "unknown", never 0.
   */
  function renewTile(renew) {
    const tile = h('a', { class: 'tile', href: '#/profiles', testid: 'certs-expiring' });
    const draw = (value, note, kind) => {
      tile.classList.toggle('tile-warn', kind === 'warn');
      tile.classList.toggle('tile-bad', kind === 'bad');
      fill(tile,
        h('span', { class: 'tile-title' }, 'Certificates expiring'),
        h('span', { class: 'tile-value', testid: 'certs-expiring-value' }, value),
        h('span', { class: 'tile-note', testid: 'certs-expiring-note' }, note));
    };
    draw('\u2026', 'Loading the RA certificates and issuing CAs\u2026');
    renew.then((r) => {
      if (!tile.isConnected) return;
      if (r.error) {
        const message = r.error instanceof Error ? r.error.message : String(r.error);
        draw('unknown', `RA certificates and issuing CAs: the profiles could not be read (${message}).`, 'warn');
        return;
      }
      const unknownRAs = 'The RA certificates are unknown: the control plane cannot read the edges\u2019 heartbeats (Redis).';
      const count = r.ras + r.cas;
      if (count) {
        const what = [r.ras ? plural(r.ras, 'RA certificate', 'RA certificates') : '', r.cas ? plural(r.cas, 'issuing CA', 'issuing CAs') : '']
          .filter(Boolean).join(' and ');
        draw(String(count), [S.edgeSettings.expiryBadge(r.worst), ` ${what} with fewer than 30 days left or expired.`,
          r.rasUnknown ? ` ${unknownRAs}` : ''], URGENCY[r.worst] >= 2 ? 'bad' : 'warn');
      } else if (r.rasUnknown) {
        draw('unknown', `Every issuing CA has 30 days or more left. ${unknownRAs}`, 'warn');
      } else {
        draw('0', 'All OK: every RA certificate and issuing CA has 30 days or more left.');
      }
    });
    return tile;
  }

  function render({ data, renew }) {
    const issued = Array.isArray(data.issuedPerDay) ? data.issuedPerDay : [];
    const expiring = Array.isArray(data.expiringPerDay) ? data.expiringPerDay : [];
    const issuedTotal = issued.reduce((s, d) => s + (Number(d.count) || 0), 0);
    const expiringTotal = expiring.reduce((s, d) => s + (Number(d.count) || 0), 0);

    const tiles = h('div', { class: 'tiles' },
      tile('total-active', 'Active certificates', data.active, 'Issued, not revoked, not superseded, not expired.', '#/certificates?state=active'),
      tile('total-expiring', 'Expiring within 30 days', data.expiringIn30Days, 'Active certificates whose notAfter is in the next 30 days.', '#/certificates?state=active&expiring=30&sort=notAfter'),
      tile('total-revoked', 'Revoked', data.revoked, 'On the CRL; OCSP answers \u201crevoked\u201d.', '#/certificates?state=revoked'),
      renewTile(renew));

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
    fetch: async () => {
      // Asked at the same time, but not awaited: the figures show without waiting for the profiles.
      const renew = S.api.profiles().then(toRenew).catch((error) => ({ error }));
      return { data: (await S.api.overview()) || {}, renew };
    },
    render,
    what: 'overview',
    label: 'Overview',
  });
})();
