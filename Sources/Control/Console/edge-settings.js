// A profile's settings on the edges, read from the `edges` groups of its GET /api/v1/profiles
// entry: each group's settings as facts, the note when they are unknown, the warning naming the
// groups when the live edges disagree, and the RA certificate's expiry with the server's badge.
// Shared by the Intune cards' Settings (intune-settings.js) and the Profiles page (profiles.js).
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, badge, code, formatTime, plural, muted } = S.ui;

  // How the server's expiry badges (trust anchors, RA certificates) read; the server decides which applies.
  const EXPIRY_BADGES = {
    green: { text: 'OK', kind: 'green', title: '30 days or more left' },
    amber: { text: 'Renew soon', kind: 'amber', title: '7 to 29 days left' },
    red: { text: 'Renew now', kind: 'red', title: 'fewer than 7 days left' },
    expired: { text: 'Expired', kind: 'expired', title: 'past notAfter' },
  };

  /** The server's expiry badge, data-badge its name; null when green (or absent): only a badge that asks for action shows. */
  function expiryBadge(badgeName) {
    if (!badgeName || badgeName === 'green') return null;
    const info = EXPIRY_BADGES[badgeName] || { text: String(badgeName), kind: 'grey', title: '' };
    return badge(info.text, info.kind, { title: info.title, 'data-badge': badgeName });
  }

  /**
   * The line under an expiry: "12 days left" or "expired 3 days ago", as the server counts them
   * (negative once past), and the badge unless green.
   */
  function daysLeftLine(daysLeft, badgeName) {
    const days = Number(daysLeft);
    const shown = expiryBadge(badgeName);
    return h('div', { class: 'muted small' }, days < 0 ? `expired ${plural(-days, 'day', 'days')} ago` : `${plural(days, 'day', 'days')} left`,
      shown ? [' ', shown] : null);
  }

  /**
   * 3600 -> "60 min", 90 -> "90 s", 86400 -> "24 h": the units the configuration's durations use,
   * with a no-break space, so a narrow column does not part the number from its unit.
   */
  function duration(seconds) {
    const s = Number(seconds);
    if (!Number.isFinite(s)) return '\u2014';
    if (s >= 2 * 86400 && s % 86400 === 0) return `${s / 86400}\u00a0days`;
    if (s >= 7200 && s % 3600 === 0) return `${s / 3600}\u00a0h`;
    if (s >= 120 && s % 60 === 0) return `${s / 60}\u00a0min`;
    return `${s}\u00a0s`;
  }

  /** A limit: "off" for 0, else the number, with `per` after it when given. */
  function limit(n, per) {
    const value = Number(n);
    if (value === 0) return 'off';
    return per ? `${value} ${per}` : String(value);
  }

  /** The day (its time in the tooltip) and the days left, as the server counts them: the lists' columns are narrow. */
  function raExpiry(ra, daysLeft, badgeName) {
    if (!ra.notAfter) return muted('unknown');
    const local = new Date(ra.notAfter).toLocaleString();
    return [
      h('time', { datetime: ra.notAfter, title: `${formatTime(ra.notAfter)}; local time: ${local}` }, formatTime(ra.notAfter).slice(0, 10)),
      daysLeft === null ? null : daysLeftLine(daysLeft, badgeName),
    ];
  }

  /**
   * One edge group's settings as facts: key; label in a list; name in the warning; text, compared
   * between groups and shown in the warning; value shown in a list (the text when absent).
   */
  function edgeFacts(group) {
    const s = group.settings || {};
    const facts = [];
    const add = (key, label, name, text, value, wide) => facts.push({ key, label, name, text, value, wide });
    const mode = String(s.intuneMode || 'off');
    add('mode', 'Intune mode', 'Intune mode', mode);
    const sc = s.signedChallenge;
    if (sc) {
      add('rateLimit', 'Rate limit', 'rate limit', limit(sc.rateLimit), limit(sc.rateLimit, 'per device per 24\u00a0h'));
      add('validity', 'Challenge validity', 'challenge validity', `at most ${duration(sc.challengeValiditySeconds)}`);
      add('clockSkew', 'Clock skew', 'clock skew', `\u00b1${duration(sc.clockSkewSeconds)}`);
      add('audience', 'Audience', 'audience', sc.audience || 'not checked', sc.audience ? code(sc.audience) : muted('not checked'), true);
      const sans = (Array.isArray(sc.allowedSANTypes) ? sc.allowedSANTypes : []).join(', ');
      add('sanTypes', 'Allowed SAN types', 'allowed SAN types', sans || 'none');
      add('compliance', 'Compliance webhook', 'compliance webhook', sc.complianceURL || 'none',
        sc.complianceURL ? code(sc.complianceURL) : muted('none'), true);
      if (sc.complianceURL) {
        add('webhookRequests', 'Webhook requests', 'webhook requests',
          `${sc.complianceSecret ? 'signed' : 'unsigned'}, ${duration(sc.complianceTimeoutSeconds)} timeout`);
      }
    }
    if (s.replayWindowSeconds !== undefined && s.replayWindowSeconds !== null) {
      add('replayWindow', 'Replay window', 'replay window', duration(s.replayWindowSeconds));
    }
    // With an Intune mode, a device that presents the static password skips the Intune checks.
    add('staticPassword', 'Static password', 'static password', s.challengePassword ? 'set' : 'none',
      s.challengePassword ? (mode === 'off' ? 'set' : 'set (skips the Intune checks)') : muted('none'));
    add('renewalLimit', 'Renewal limit', 'renewal limit', limit(s.renewalLimit), limit(s.renewalLimit, 'per certificate per 24\u00a0h'));
    // A split RA (NDES's layout) has two certificates; the group's days left are the earlier one's.
    const ra = s.ra || {};
    const signing = s.raSigning;
    const certificates = signing
      ? [['ra', 'RA encryption certificate', ra], ['raSigning', 'RA signing certificate', signing]]
      : [['ra', 'RA certificate', ra]];
    const earliest = certificates.map(([, , c]) => String(c.notAfter || '')).sort()[0];
    for (const [key, name, certificate] of certificates) {
      const fp = String(certificate.fingerprint || '');
      const decides = String(certificate.notAfter || '') === earliest;
      add(key, `${name} expires`, name, `${fp.length > 20 ? `${fp.slice(0, 12)}\u2026` : fp} expiring ${formatTime(certificate.notAfter)}`,
        raExpiry(certificate, decides ? group.raDaysLeft : null, group.raBadge));
    }
    return facts;
  }

  const edgeList = (ids) => (ids.length ? ids.join(', ') : '(no id)');

  function disagreement(name, groups, differing, prefix) {
    return h('div', { class: 'callout callout-bad', testid: `${prefix}settings-disagree-${name}` },
      h('p', null, badge('Edges disagree', 'red'),
        ' The live edges run this profile with different settings (a rollout in progress, or an edge started with '
        + 'other files or variables); the differences:'),
      h('ul', null, groups.map((g) => h('li', { testid: `${prefix}settings-group-${name}` },
        h('strong', null, edgeList(g.edges)), ': ',
        differing.length
          ? differing.map((key) => {
            const fact = g.facts.find((f) => f.key === key);
            const any = groups.map((o) => o.facts.find((f) => f.key === key)).find(Boolean);
            return `${any.name} ${fact ? fact.text : 'not set'}`;
          }).join(', ')
          // An edge of another release may publish a setting this console does not know.
          : 'a setting this console does not show'))));
  }

  /**
   * The edges' half of the profile `name`, from its entry of GET /api/v1/profiles, read:
   *   groups    [{edges, facts, text: {key: text}}], null when the control plane cannot read the heartbeats
   *   keys      every fact's key, in the facts' order
   *   unknown   the note saying the settings are unknown (no Redis, no live edge), else null
   *   warning   the Edges disagree warning (more than one group, each with every value that differs), else null
   *   pairs(keys)  [label, value, attrs] for dl() of those facts, in that order (a value the
   *             groups differ on is the badge "differs"; keys no group has are left out)
   *   footnote  the line naming the one group's edges, else null
   * prefix: put before the test ids (setting-<name>-<key>, settings-disagree-<name>,
   * settings-group-<name>), so two pages' lists of one profile keep theirs apart.
   */
  function read(name, entry, prefix) {
    const pre = prefix || '';
    const groups = entry && Array.isArray(entry.edges)
      ? entry.edges.map((g) => {
        const facts = edgeFacts(g);
        return { edges: Array.isArray(g.edges) ? g.edges.map(String) : [], facts, text: Object.fromEntries(facts.map((f) => [f.key, f.text])) };
      })
      : null;
    let unknown = null;
    if (groups === null) {
      unknown = h('p', { class: 'note' }, 'The edges\u2019 settings are unknown: the control plane cannot read their heartbeats (Redis).');
    } else if (!groups.length) {
      unknown = h('p', { class: 'note' }, 'No live edge serves this profile, so its settings on the edges are unknown.');
    }
    const keys = [];
    for (const g of groups || []) for (const f of g.facts) if (!keys.includes(f.key)) keys.push(f.key);
    const differing = keys.filter((key) => new Set(groups.map((g) => g.text[key] || '')).size > 1);

    function pairs(shown) {
      const list = [];
      for (const key of shown) {
        const fact = (groups || []).map((g) => g.facts.find((f) => f.key === key)).find(Boolean);
        if (!fact) continue;
        const value = differing.includes(key)
          ? badge('differs', 'red', { title: 'The edges differ: see the warning above' })
          : fact.value === undefined ? fact.text : fact.value;
        list.push([fact.label, value, { testid: `${pre}setting-${name}-${key}`, class: fact.wide ? 'wide' : null }]);
      }
      return list;
    }

    let footnote = null;
    if (groups && groups.length === 1) {
      const ids = groups[0].edges;
      footnote = h('p', { class: 'note' }, ids.length === 1
        ? `As the live edge ${ids[0]} reports them.`
        : `The same on all ${ids.length} live edges: ${edgeList(ids)}.`);
    }
    return {
      groups,
      keys,
      unknown,
      warning: groups && groups.length > 1 ? disagreement(name, groups, differing, pre) : null,
      pairs,
      footnote,
    };
  }

  S.edgeSettings = { read, edgeList, duration, EXPIRY_BADGES, expiryBadge, daysLeftLine };
})();
