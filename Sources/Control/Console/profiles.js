// Profiles page (#/profiles): every profile from GET /api/v1/profiles (viewer and admin), one card
// each: its settings on the live edges (edge-settings.js: the RA certificate's expiry, the static
// password, the renewal limit, the Intune mode), its certificate policy and its issuing CA (with its
// expiry badge); above the cards, a warning naming each RA certificate and issuing CA the server
// badges other than green. An Intune profile's gates are on its Intune card, which the card links
// to. Below the cards, the Issuers section (issuers.js) from its own GET /api/v1/issuers, whose
// failure the section says while the cards still show; its warning of unconfigured issuers sits
// above the cards. Read only.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, fill, $, loadedPage, muted, formatTime, timeEl, code, dl, plural } = S.ui;
  const { read, duration, expiryBadge, daysLeftLine } = S.edgeSettings;

  // The edges' facts this page lists; the other ones (an Intune profile's gates) are on its Intune card.
  const EDGE_KEYS = ['ra', 'raSigning', 'staticPassword', 'renewalLimit', 'mode'];
  const TESTID = 'profiles-';

  let cardSeq = 0;

  const attrs = (name, key, wide) => ({ testid: `${TESTID}setting-${name}-${key}`, class: wide ? 'wide' : null });

  function section(title, ...content) {
    return h('section', { class: 'card-section' }, h('h3', null, title), content);
  }

  /** The key usages issued: KEY_USAGE as configured, else the default, which follows the key. */
  function keyUsage(policy) {
    if (Array.isArray(policy.keyUsage)) return policy.keyUsage.length ? policy.keyUsage.join(', ') : muted('none');
    return ['digitalSignature, plus keyEncipherment for RSA keys ', muted('(the default)')];
  }

  function policyView(name, policy) {
    const p = policy || {};
    const ekus = Array.isArray(p.allowedEKUs) ? p.allowedEKUs : [];
    return dl([
      ['Validity', duration(p.validitySeconds), attrs(name, 'certValidity')],
      ['Maximum validity', p.maxValiditySeconds ? duration(p.maxValiditySeconds) : muted('none (the CA\u2019s notAfter caps it)'), attrs(name, 'maxValidity')],
      ['Allowed EKUs', ekus.length ? ekus.join(', ') : muted('none'), attrs(name, 'ekus')],
      ['Smallest RSA key', p.minRSABits ? `${p.minRSABits}\u00a0bits` : muted('unknown'), attrs(name, 'minRSABits')],
      ['Key usage', keyUsage(p), attrs(name, 'keyUsage', true)],
    ], 'settings');
  }

  function issuerView(name, issuer) {
    const i = issuer || {};
    return dl([
      // One a line: a full time does not fit half of the column.
      ['Name', i.name ? code(i.name) : muted('unknown'), attrs(name, 'issuerName', true)],
      ['Not after', i.notAfter ? [timeEl(i.notAfter), daysLeftLine(i.daysLeft, i.badge)] : muted('unknown'), attrs(name, 'issuerNotAfter', true)],
      ['Subject', i.subject || muted('unknown'), attrs(name, 'issuerSubject', true)],
    ], 'settings');
  }

  function edgesView(name, edges) {
    const pairs = edges.pairs(EDGE_KEYS);
    return [edges.unknown, edges.warning, pairs.length ? dl(pairs, 'settings') : null, edges.footnote];
  }

  function card(entry) {
    const name = String(entry.name);
    const titleID = `profiles-title-${++cardSeq}`;
    const edges = read(name, entry, TESTID);
    const intune = S.intuneSettings.isIntune(entry)
      ? h('p', { class: 'card-mode', testid: `${TESTID}intune-${name}` }, 'An Intune profile: its challenge checks, counters and trust anchors are on ',
        h('a', { href: `#/intune?profile=${encodeURIComponent(name)}` }, 'its Intune card'), '.')
      : null;
    return h('article', { class: 'card', testid: `${TESTID}card-${name}`, 'aria-labelledby': titleID },
      h('h2', { id: titleID }, name),
      intune,
      h('div', { class: 'profile-grid' },
        section('On the edges', edgesView(name, edges)),
        section('Certificate policy', policyView(name, entry.policy)),
        section('Issuing CA', issuerView(name, entry.issuer))));
  }

  /** "expires 2026-12-17 22:45:24 UTC (10 days left)", "expired … (2 days ago)". */
  function expiry(notAfter, daysLeft) {
    const days = Number(daysLeft);
    return days < 0
      ? `expired ${formatTime(notAfter)} (${plural(-days, 'day', 'days')} ago)`
      : `expires ${formatTime(notAfter)} (${plural(days, 'day', 'days')} left)`;
  }

  /**
   * The warning above the cards: each RA certificate and each issuing CA the server badges other
   * than green, with its badge, notAfter and days left; null when there is none.
   */
  function expiryWarning(list) {
    const ras = [];
    const cas = new Map(); // issuer name -> {issuer, profiles}: a CA several profiles share is named once
    for (const entry of list) {
      const name = String(entry.name);
      const groups = Array.isArray(entry.edges) ? entry.edges : [];
      for (const g of groups) {
        // Edges that disagree may hold different RA certificates: each is named with its edges.
        if (g.raBadge && g.raBadge !== 'green') ras.push({ name, group: g, named: groups.length > 1 });
      }
      const issuer = entry.issuer || {};
      if (issuer.badge && issuer.badge !== 'green') {
        const key = String(issuer.name || issuer.subject || name);
        if (!cas.has(key)) cas.set(key, { issuer, profiles: [] });
        cas.get(key).profiles.push(name);
      }
    }
    if (!ras.length && !cas.size) return null;
    const oneRA = ras.length === 1;
    const oneCA = cas.size === 1;
    return h('div', { class: 'callout callout-warn', testid: `${TESTID}expiry-warning` },
      ras.length ? [
        h('p', null, `${oneRA ? 'An RA certificate expires' : 'RA certificates expire'} within 30 days or ${oneRA ? 'has' : 'have'} expired. `
          + 'Devices reject every CertRep an expired RA certificate signs: sign a new one with the same CA and restart the '
          + 'edges (docs/ca.md, \u201cRequirements when Scepter loads a CA and an RA\u201d).'),
        h('ul', { testid: `${TESTID}expiry-ra` }, ras.map(({ name, group, named }) => {
          // Of a split RA, the certificate that expires first.
          const settings = group.settings || {};
          const ra = [settings.ra, settings.raSigning].filter((c) => c && c.notAfter)
            .sort((a, b) => String(a.notAfter).localeCompare(String(b.notAfter)))[0] || {};
          const ids = Array.isArray(group.edges) ? group.edges.join(', ') : '';
          return h('li', null, h('strong', null, name), named && ids ? ` (edges ${ids})` : '', ': ',
            expiryBadge(group.raBadge), ' ', expiry(ra.notAfter, group.raDaysLeft));
        })),
      ] : null,
      cas.size ? [
        h('p', null, `${oneCA ? 'An issuing CA expires' : 'Issuing CAs expire'} within 30 days or ${oneCA ? 'has' : 'have'} expired. `
          + 'The certificates a CA issues end at its notAfter at the latest, and once it has passed, its profiles\u2019 '
          + 'enrollments fail (issuer_error): announce a new CA and switch to it (docs/ca.md, \u201cCA rollover\u201d).'),
        h('ul', { testid: `${TESTID}expiry-ca` }, [...cas.entries()].map(([key, { issuer, profiles }]) =>
          h('li', null, h('strong', null, key), ` (${profiles.length === 1 ? 'profile' : 'profiles'} ${profiles.join(', ')}): `,
            expiryBadge(issuer.badge), ' ', expiry(issuer.notAfter, issuer.daysLeft)))),
      ] : null);
  }

  function render({ list, issuers }) {
    fill($('#profiles-content'),
      expiryWarning(list),
      S.issuers.warning(issuers),
      list.length ? list.map(card) : h('p', { class: 'empty' }, 'No profile is configured.'),
      S.issuers.section(issuers));
  }

  S.pages = S.pages || {};
  S.pages.profiles = loadedPage('profiles', {
    fetch: async () => {
      // Both at once; the issuers' read never throws (a failure is its section's to say).
      const [list, issuers] = await Promise.all([S.api.profiles(), S.issuers.read()]);
      if (!Array.isArray(list)) throw new Error('The answer is not a list of profiles');
      return { list, issuers };
    },
    render,
    what: 'profiles',
    label: 'Profiles',
  });
})();
