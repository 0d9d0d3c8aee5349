// The Issuers section of the Profiles page (profiles.js loads it): every issuer from
// GET /api/v1/issuers, one row each, with its state (current, retired, unconfigured), its CA's expiry
// badged as on the profile cards, the profiles using it, the certificates it still answers for, the
// last one's expiry (a retired issuer may go once it is past), its CRL's entries and its CRL and OCSP
// URLs; and the warning naming each unconfigured issuer, whose CRL and OCSP are not served. Read only.
//
// Hooks: [issuers] (the section)  [issuers-table]  [issuers-row-<name>] (a <tr>; its <th> the name)
//   [issuers-state-<name>] (the state's badge, data-state = current|retired|unconfigured)
//   [issuers-<name>-<key>] (the cells: ca profiles certificates lastExpiry revocations urls)
//   [issuers-crl-<name>] (the CRL's link)  [issuers-error] ("Issuers could not be read: …")
//   [issuers-unconfigured] (the warning; one <li> [issuers-unconfigured-<name>] per issuer)
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, badge, muted, formatTime, timeEl, code, plural, table, errorLine, variablePrefix } = S.ui;
  const { daysLeftLine } = S.edgeSettings;

  const TESTID = 'issuers';

  const STATES = {
    current: { kind: 'green', title: 'A profile issues from it.' },
    retired: { kind: 'grey', title: 'Configured, but no profile issues from it: kept for its certificates\u2019 CRL, OCSP and renewal.' },
    unconfigured: { kind: 'amber', title: 'Not configured, yet some of its certificates are unexpired: their CRL and OCSP are not served.' },
  };

  /** A count from the answer, or "unknown" (never 0) when it is not one. */
  const count = (n) => (Number.isInteger(n) && n >= 0 ? n : null);
  const shownCount = (n) => (count(n) === null ? muted('unknown') : String(n));

  /** Whether an ISO time has passed. */
  const passed = (iso) => {
    const t = new Date(iso).getTime();
    return !Number.isNaN(t) && t <= Date.now();
  };


  /** A link for a URL of the server or of http(s) only; anything else stays text. */
  function safeLink(url, attrs, text) {
    const s = String(url || '');
    if (/^https?:\/\//i.test(s) || (s.startsWith('/') && !s.startsWith('//'))) return h('a', Object.assign({ href: s }, attrs), text);
    return s ? code(s) : muted('unknown');
  }

  function caCell(issuer) {
    const ca = issuer.ca;
    if (!ca) return issuer.state === 'unconfigured' ? muted('not configured') : muted('unknown');
    return [
      h('div', { class: 'issuer-subject' }, ca.subject || muted('subject unknown')),
      ca.notAfter ? h('div', null, 'Not after ', timeEl(ca.notAfter)) : muted('notAfter unknown'),
      ca.notAfter ? daysLeftLine(ca.daysLeft, ca.badge) : null,
    ];
  }

  function certificatesCell(c) {
    if (!c) return muted('unknown');
    return [
      h('div', null, shownCount(c.unexpired)),
      h('div', { class: 'muted small nowrap' }, shownCount(c.active), ' active, ', shownCount(c.revoked), ' revoked'),
    ];
  }

  /** When the last unexpired certificate expires; for a retired issuer, whether it may go. */
  function lastExpiryCell(issuer) {
    const c = issuer.certificates;
    if (!c) return muted('unknown');
    const last = c.lastExpiry;
    const gone = !last || passed(last);
    if (issuer.state === 'retired') {
      if (gone) return [last ? h('div', null, timeEl(last)) : null, h('div', { class: 'status-ok' }, 'none left \u2014 may be removed')];
      return [h('div', null, timeEl(last)), h('div', { class: 'muted small' }, 'keep it configured until then')];
    }
    if (gone) return [last ? h('div', null, timeEl(last)) : null, muted('none left')];
    return timeEl(last);
  }

  function urlsCell(issuer, name) {
    // Nothing serves them: no link that would only answer 404.
    if (issuer.state === 'unconfigured') return muted('not served (not configured)');
    return [
      h('div', null, 'CRL: ', safeLink(issuer.crlURL, { download: `${name}.crl`, testid: `${TESTID}-crl-${name}` }, issuer.crlURL)),
      h('div', null, 'OCSP: ', issuer.ocspURL ? code(issuer.ocspURL) : muted('unknown')),
    ];
  }

  function row(issuer) {
    const name = String(issuer.name);
    const state = String(issuer.state || 'unknown');
    const info = STATES[state] || { kind: 'grey', title: '' };
    const profiles = Array.isArray(issuer.profiles) ? issuer.profiles.map(String) : null;
    const cell = (key, content, className) => h('td', { class: className || null, testid: `${TESTID}-${name}-${key}` }, content);
    return h('tr', { testid: `${TESTID}-row-${name}` },
      h('th', { scope: 'row' }, code(name)),
      h('td', null, badge(state, info.kind, { title: info.title, testid: `${TESTID}-state-${name}`, 'data-state': state })),
      cell('ca', caCell(issuer), 'issuer-ca'),
      cell('profiles', profiles === null ? muted('unknown') : profiles.length ? profiles.join(', ') : muted('none')),
      cell('certificates', certificatesCell(issuer.certificates), 'num'),
      cell('lastExpiry', lastExpiryCell(issuer), 'issuer-last'),
      cell('revocations', shownCount(issuer.revocations), 'num'),
      cell('urls', urlsCell(issuer, name), 'issuer-urls'));
  }

  /** The Issuers section: the table, or why it could not be read. `read` is {issuers} or {error}. */
  function section(read) {
    let body;
    if (read.error) body = h('div', { testid: `${TESTID}-error` }, errorLine(read.error, 'Issuers could not be read'));
    else {
      body = table({
        caption: 'Every issuer, sorted by name',
        columns: [
          { title: 'Issuer' }, { title: 'State' }, { title: 'CA certificate' }, { title: 'Profiles' },
          { title: 'Unexpired certificates', class: 'num' }, { title: 'Last expiry' },
          { title: 'Revocations on its CRL', class: 'num' }, { title: 'CRL and OCSP' },
        ],
        rows: read.issuers.map(row),
        empty: 'No issuer is configured and the inventory holds no certificate.',
        testid: `${TESTID}-table`,
        className: 'issuers',
      });
    }
    return h('section', { class: 'panel issuers', testid: TESTID, 'aria-labelledby': 'issuers-title' },
      h('h2', { id: 'issuers-title' }, 'Issuers'),
      h('p', { class: 'note' }, 'Each CA this control plane serves a CRL and OCSP for: current (a profile issues from it) or retired '
        + '(no profile does: kept after a CA rollover for its certificates\u2019 CRL, OCSP and renewal, until the last of them '
        + 'expires). Unconfigured: not configured, yet the inventory holds unexpired certificates of it.'),
      body);
  }

  /** The warning naming each unconfigured issuer with what it still answers for; null when there is none. */
  function warning(read) {
    const list = read.issuers ? read.issuers.filter((i) => i.state === 'unconfigured') : [];
    if (!list.length) return null;
    const one = list.length === 1;
    return h('div', { class: 'callout callout-warn', testid: `${TESTID}-unconfigured` },
      h('p', null, `${one ? 'An issuer is' : 'Issuers are'} not configured, yet the inventory holds unexpired certificates of `
        + `${one ? 'it' : 'them'}: ${one ? 'its' : 'their'} CRL and OCSP are not served, so revoking one of these certificates `
        + 'reaches no relying party.'),
      h('ul', null, list.map((issuer) => {
        const name = String(issuer.name);
        const c = issuer.certificates || {};
        const prefix = variablePrefix('ISSUER', name);
        return h('li', { testid: `${TESTID}-unconfigured-${name}` }, h('strong', null, name), ': ',
          count(c.unexpired) === null ? 'an unknown number of unexpired certificates' : plural(c.unexpired, 'unexpired certificate', 'unexpired certificates'),
          c.lastExpiry ? `, the last valid until ${formatTime(c.lastExpiry)}` : '',
          '. Configure it again: add ', code(name), ' to ', code('SCEPTER_ISSUERS'), ', set ', code(`${prefix}CA_CERT_PATH`), ' and ',
          code(`${prefix}CA_KEY_PATH`), ' to its CA\u2019s files, and restart the control plane.');
      })),
      h('p', null, `No profile needs to use ${one ? 'it' : 'them'}; keep ${one ? 'it' : 'each'} configured until `
        + `${one ? 'its' : 'its own'} last certificate expires (docs/ca.md, \u201cCA rollover\u201d).`));
  }

  /** Reads GET /api/v1/issuers: {issuers} or {error}; never throws, so the profiles show whatever it answers. */
  async function read() {
    try {
      const issuers = await S.api.get('/api/v1/issuers');
      if (!Array.isArray(issuers)) throw new Error('The answer is not a list of issuers');
      return { issuers };
    } catch (error) {
      return { error };
    }
  }

  S.issuers = { read, section, warning };
})();
