// The Settings section of an Intune card (intune.js): a profile's effective gate settings from
// GET /api/v1/profiles, as the live edges' heartbeats report them (and the control plane, for
// intune-api), with a warning naming the edges whose settings differ.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, badge, code, dl, formatTime, plural } = S.ui;

  // How the server's expiry badges (trust anchors, RA certificates) read; the server decides which applies.
  const EXPIRY_BADGES = {
    green: { text: 'OK', kind: 'green', title: '30 days or more left' },
    amber: { text: 'Renew soon', kind: 'amber', title: '7 to 29 days left' },
    red: { text: 'Renew now', kind: 'red', title: 'fewer than 7 days left' },
    expired: { text: 'Expired', kind: 'expired', title: 'past notAfter' },
  };

  const muted = (text) => h('span', { class: 'muted' }, text);

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

  /** The day (its time in the tooltip) and the days left, as the server counts them: the list's columns are narrow. */
  function raExpiry(ra, daysLeft, badgeName) {
    if (!ra.notAfter) return muted('unknown');
    const days = Number(daysLeft);
    const info = badgeName === 'green' ? null : EXPIRY_BADGES[badgeName];
    const local = new Date(ra.notAfter).toLocaleString();
    return [
      h('time', { datetime: ra.notAfter, title: `${formatTime(ra.notAfter)}; local time: ${local}` }, formatTime(ra.notAfter).slice(0, 10)),
      h('div', { class: 'muted small' }, days < 0 ? `expired ${plural(-days, 'day', 'days')} ago` : `${plural(days, 'day', 'days')} left`,
        info ? [' ', badge(info.text, info.kind, { title: info.title })] : null),
    ];
  }

  /**
   * One edge group's settings as facts: key; label in the list (none: the card's first line says
   * it); name in the warning; text, compared between groups and shown in the warning; value shown
   * in the list (the text when absent).
   */
  function edgeFacts(group) {
    const s = group.settings || {};
    const facts = [];
    const add = (key, label, name, text, value, wide) => facts.push({ key, label, name, text, value, wide });
    add('mode', null, 'Intune mode', String(s.intuneMode || 'off'));
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
    add('staticPassword', 'Static password', 'static password', s.challengePassword ? 'set' : 'none',
      s.challengePassword ? 'set (skips the Intune checks)' : muted('none'));
    add('renewalLimit', 'Renewal limit', 'renewal limit', limit(s.renewalLimit), limit(s.renewalLimit, 'per certificate per 24\u00a0h'));
    const ra = s.ra || {};
    const fp = String(ra.fingerprint || '');
    add('ra', 'RA certificate expires', 'RA certificate',
      `${fp.length > 20 ? `${fp.slice(0, 12)}\u2026` : fp} expiring ${formatTime(ra.notAfter)}`, raExpiry(ra, group.raDaysLeft, group.raBadge));
    return facts;
  }

  /** The control plane's half of an intune-api profile (its `intune` member, else the stats' intuneAPI). */
  function controlFacts(entry, statsAPI) {
    const api = (entry && entry.intune) || statsAPI;
    if (!api) return [];
    const credential = api.credential === 'certificate'
      ? ['certificate ', api.clientCertificate ? code(api.clientCertificate) : muted('(unreadable)')]
      : api.credential === 'secret' ? 'client secret' : undefined;
    return [
      { key: 'tenant', label: 'Tenant', value: api.tenantID || '', wide: true },
      { key: 'client', label: 'Client (application) ID', value: api.clientID ? code(api.clientID) : '', wide: true },
      { key: 'credential', label: 'Credential', value: credential, wide: api.credential === 'certificate' },
    ];
  }

  /**
   * Whether the profiles API says the profile is an Intune one: true or false, or null when it
   * cannot say (no live edge reports the profile, the edges could not be read, no such entry).
   */
  function isIntune(entry) {
    if (!entry) return null;
    if (entry.intune) return true;
    const groups = Array.isArray(entry.edges) ? entry.edges : [];
    if (!groups.length) return null;
    return groups.some((g) => g && g.settings && g.settings.intuneMode && g.settings.intuneMode !== 'off');
  }

  /**
   * The profile's Intune mode as the edges and the control plane (intune-api) report it: a mode,
   * 'mixed' when they differ (edges in intune-api mode and a control plane that is not, too),
   * null when none reports one.
   */
  function modeOf(entry) {
    const groups = entry && Array.isArray(entry.edges) ? entry.edges : [];
    const modes = new Set(groups.map((g) => String((g.settings && g.settings.intuneMode) || 'off')));
    if (entry && entry.intune) modes.add('intune-api');
    if (!modes.size) return null;
    if (modes.has('intune-api') && !entry.intune) return 'mixed';
    return modes.size === 1 ? [...modes][0] : 'mixed';
  }

  const edgeList = (ids) => (ids.length ? ids.join(', ') : '(no id)');

  function disagreement(name, groups, differing) {
    return h('div', { class: 'callout callout-bad', testid: `settings-disagree-${name}` },
      h('p', null, badge('Edges disagree', 'red'),
        ' The live edges run this profile with different settings (a rollout in progress, or an edge started with '
        + 'other files or variables); the differences:'),
      h('ul', null, groups.map((g) => h('li', { testid: `settings-group-${name}` },
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
   * Edges that run the profile in intune-api mode on a control plane without its intune-api
   * credentials (no `intune` member): the control plane refuses each enrollment they forward
   * (policy_violation), so the warning names the variables to set there.
   */
  function noCredentials(name, edges) {
    const variable = `SCEPTER_PROFILE_${name.toUpperCase().replace(/-/g, '_')}_INTUNE_`;
    const one = edges.length === 1;
    return h('div', { class: 'callout callout-bad', testid: `settings-no-credentials-${name}` },
      h('p', null, badge('No intune-api credentials', 'red'),
        ` The live ${one ? 'edge' : 'edges'} ${edgeList(edges)} ${one ? 'runs' : 'run'} this profile in intune-api mode, but the `
        + `control plane has no intune-api credentials for it: it refuses every Intune enrollment ${one ? 'the edge forwards' : 'they forward'} `
        + '(policy_violation).'),
      h('p', null, 'On the control plane, set these, then restart it (docs/intune.md \u00a79.3):'),
      h('ul', null,
        h('li', null, code(`${variable}MODE=intune-api`)),
        h('li', null, code(`${variable}TENANT_ID`), ' and ', code(`${variable}CLIENT_ID`), ': the tenant and the app registration'),
        h('li', null, code(`${variable}CLIENT_SECRET_FILE`), ', or ', code(`${variable}CLIENT_CERT_PATH`), ' with ',
          code(`${variable}CLIENT_KEY_PATH`), ': its credential')));
  }

  /**
   * The section's content for the profile `name`.
   * entry: its element of GET /api/v1/profiles (undefined when that has no such profile);
   * source: {loaded, asOf, failedAt, message} of the profiles requests (failedAt: the last one
   * failed, with message; the answer shown is from asOf); statsAPI: the stats' intuneAPI.
   */
  function view(name, entry, source, statsAPI) {
    if (!source.loaded) return h('p', { class: 'error-text' }, `The settings could not be loaded: ${source.message}`);
    const parts = [];
    if (source.failedAt) {
      parts.push(h('p', { class: 'note error-text' },
        `Not refreshed: the request at ${formatTime(source.failedAt)} failed (${source.message}). As of ${formatTime(source.asOf)}.`));
    }
    if (!entry) {
      parts.push(h('p', { class: 'empty' }, 'The control plane\u2019s configuration has no such profile, so its settings are unknown.'));
      return parts;
    }
    const groups = Array.isArray(entry.edges)
      ? entry.edges.map((g) => ({ edges: Array.isArray(g.edges) ? g.edges.map(String) : [], facts: edgeFacts(g) }))
      : null;
    if (groups === null) {
      parts.push(h('p', { class: 'note' }, 'The edges\u2019 settings are unknown: the control plane cannot read their heartbeats (Redis).'));
    } else if (!groups.length) {
      parts.push(h('p', { class: 'note' }, 'No live edge serves this profile, so its settings on the edges are unknown.'));
    }

    const keys = [];
    for (const g of groups || []) for (const f of g.facts) if (!keys.includes(f.key)) keys.push(f.key);
    const textOf = (g, key) => { const f = g.facts.find((x) => x.key === key); return f ? f.text : ''; };
    const differing = keys.filter((key) => new Set(groups.map((g) => textOf(g, key))).size > 1);
    const apiGroups = entry.intune ? [] : (groups || []).filter((g) => textOf(g, 'mode') === 'intune-api');
    if (apiGroups.length) parts.push(noCredentials(name, apiGroups.flatMap((g) => g.edges)));
    if (groups && groups.length > 1) parts.push(disagreement(name, groups, differing));

    const attrs = (f) => ({ testid: `setting-${name}-${f.key}`, class: f.wide ? 'wide' : null });
    const pairs = controlFacts(entry, statsAPI).map((f) => [f.label, f.value, attrs(f)]);
    for (const key of keys) {
      const fact = groups.map((g) => g.facts.find((f) => f.key === key)).find(Boolean);
      if (!fact.label) continue;
      const value = differing.includes(key)
        ? badge('differs', 'red', { title: 'The edges differ: see the warning above' })
        : fact.value === undefined ? fact.text : fact.value;
      pairs.push([fact.label, value, attrs(fact)]);
    }
    if (pairs.length) parts.push(dl(pairs, 'settings'));
    if (groups && groups.length === 1) {
      const ids = groups[0].edges;
      parts.push(h('p', { class: 'note' }, ids.length === 1
        ? `As the live edge ${ids[0]} reports them.`
        : `The same on all ${ids.length} live edges: ${edgeList(ids)}.`));
    }
    return parts;
  }

  S.intuneSettings = { view, isIntune, modeOf, EXPIRY_BADGES };
})();
