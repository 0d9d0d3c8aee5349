// The Settings section of an Intune card (intune.js): a profile's effective gate settings from
// GET /api/v1/profiles, as the live edges' heartbeats report them (edge-settings.js) and the
// control plane, for intune-api, with the warnings for edges whose settings differ and for
// edges in intune-api mode on a control plane without its credentials.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, badge, code, dl, formatTime, muted, variablePrefix } = S.ui;
  const { edgeList } = S.edgeSettings;


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

  /**
   * Edges that run the profile in intune-api mode on a control plane without its intune-api
   * credentials (no `intune` member): the control plane refuses each enrollment they forward
   * (policy_violation), so the warning names the variables to set there.
   */
  function noCredentials(name, edges) {
    const variable = `${variablePrefix('PROFILE', name)}INTUNE_`;
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
    const edges = S.edgeSettings.read(name, entry);
    if (edges.unknown) parts.push(edges.unknown);
    const apiGroups = entry.intune ? [] : (edges.groups || []).filter((g) => g.text.mode === 'intune-api');
    if (apiGroups.length) parts.push(noCredentials(name, apiGroups.flatMap((g) => g.edges)));
    if (edges.warning) parts.push(edges.warning);

    // The card's first line says the Intune mode.
    const pairs = controlFacts(entry, statsAPI).map((f) => [f.label, f.value, { testid: `setting-${name}-${f.key}`, class: f.wide ? 'wide' : null }])
      .concat(edges.pairs(edges.keys.filter((key) => key !== 'mode')));
    if (pairs.length) parts.push(dl(pairs, 'settings'));
    if (edges.footnote) parts.push(edges.footnote);
    return parts;
  }

  S.intuneSettings = { view, isIntune, modeOf };
})();
