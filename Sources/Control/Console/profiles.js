// Profiles page (#/profiles): every profile from GET /api/v1/profiles (viewer and admin), one card
// each: its settings on the live edges (edge-settings.js: the RA certificate's expiry, the static
// password, the renewal limit, the Intune mode), its certificate policy and its issuer. An Intune
// profile's gates are on its Intune card, which the card links to. Read only.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, fill, $, loadedPage, muted, formatTime, timeEl, badge, code, dl, plural } = S.ui;
  const { read, duration, EXPIRY_BADGES } = S.edgeSettings;

  // The edges' facts this page lists; the other ones (an Intune profile's gates) are on its Intune card.
  const EDGE_KEYS = ['ra', 'staticPassword', 'renewalLimit', 'mode'];
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
      ['Not after', timeEl(i.notAfter), attrs(name, 'issuerNotAfter', true)],
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

  /** The warning above the cards: each RA certificate the server badges other than green. */
  function raWarning(list) {
    const urgent = [];
    for (const entry of list) {
      const groups = Array.isArray(entry.edges) ? entry.edges : [];
      for (const g of groups) {
        // Edges that disagree may hold different RA certificates: each is named with its edges.
        if (g.raBadge && g.raBadge !== 'green') urgent.push({ name: String(entry.name), group: g, named: groups.length > 1 });
      }
    }
    if (!urgent.length) return null;
    const one = urgent.length === 1;
    return h('div', { class: 'callout callout-warn', testid: `${TESTID}ra-warning` },
      h('p', null, `${one ? 'An RA certificate expires' : 'RA certificates expire'} within 30 days or ${one ? 'has' : 'have'} expired. `
        + 'Devices reject every CertRep an expired RA certificate signs: sign a new one with the same CA and restart the '
        + 'edges (docs/ca.md, \u201cRequirements when Scepter loads a CA and an RA\u201d).'),
      h('ul', null, urgent.map(({ name, group, named }) => {
        const info = EXPIRY_BADGES[group.raBadge] || { text: String(group.raBadge), kind: 'grey', title: '' };
        const days = Number(group.raDaysLeft);
        const ra = (group.settings && group.settings.ra) || {};
        const ids = Array.isArray(group.edges) ? group.edges.join(', ') : '';
        return h('li', null, h('strong', null, name), named && ids ? ` (edges ${ids})` : '', ': ',
          badge(info.text, info.kind, { title: info.title }), ' ',
          days < 0
            ? `expired ${formatTime(ra.notAfter)} (${plural(-days, 'day', 'days')} ago)`
            : `expires ${formatTime(ra.notAfter)} (${plural(days, 'day', 'days')} left)`);
      })));
  }

  function render(list) {
    fill($('#profiles-content'),
      raWarning(list),
      list.length ? list.map(card) : h('p', { class: 'empty' }, 'No profile is configured.'));
  }

  S.pages = S.pages || {};
  S.pages.profiles = loadedPage('profiles', {
    fetch: async () => {
      const list = await S.api.profiles();
      if (!Array.isArray(list)) throw new Error('The answer is not a list of profiles');
      return list;
    },
    render,
    what: 'profiles',
    label: 'Profiles',
  });
})();
