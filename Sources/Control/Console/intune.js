// Intune monitoring page (#/intune): one card per Intune profile, with its settings from
// GET /api/v1/profiles (intune-settings.js) and, for an admin, its figures from
// GET /api/v1/admin/scep/intune/stats; both polled every 30 s (the recent failures table is
// redrawn every 60 s from the same answer). A viewer's cards hold the settings only. The
// trust reload dialog is the admin's. #/intune?profile=<name> (the Profiles page's link) brings
// that card to the top of the window once its first answer is shown.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const {
    h, fill, $, setStatus, freshness, showError, clearError, errorLine, formatTime, toISO, timeEl, ago, plural,
    badge, outcomeBadge, table, more, sanList, code, shortFingerprint, openDialog, cloneTemplate,
  } = S.ui;

  const COUNTERS_EVERY_MS = 30000;
  const FAILURES_EVERY_MS = 60000;

  const ANCHOR_BADGES = S.edgeSettings.EXPIRY_BADGES;
  const BREAKERS = {
    closed: { kind: 'green', note: 'calls go through' },
    half_open: { kind: 'amber', note: 'trying one call' },
    open: { kind: 'red', note: 'calls refused until the cooldown ends' },
  };
  const RELOAD_STATUS = {
    reloaded: { kind: 'green', note: 'every Intune profile of the edge reloaded' },
    failed: { kind: 'red', note: 'a bundle was refused; the edge keeps its previous anchors' },
    no_answer: { kind: 'amber', note: 'the edge was live but did not report within 10 s' },
  };

  let active = false; // the page is shown
  let timer = null;
  let generation = 0; // answers of an older generation are dropped
  let inFlight = 0;
  let lastLoadAt = 0;
  let lastFailuresAt = 0;
  let cardSeq = 0;
  let wanted = ''; // the card #/intune?profile=<name> asks for, until the first answer is shown
  const cards = new Map(); // profile name -> {el, parts, failuresShown}
  const status = freshness('#intune-status', '#intune-content');
  // The last good GET /api/v1/profiles (list, from asOf) and the failure of a later one, if any.
  const profiles = { list: null, asOf: '', failedAt: '', message: '' };

  // ---- Card sections -----------------------------------------------------

  function section(title, extraClass) {
    const body = h('div', { class: 'section-body' });
    const el = h('section', { class: `card-section ${extraClass || ''}` }, h('h3', null, title), body);
    return { el, body };
  }

  function countsView(p) {
    const name = p.profile;
    const last = p.last24h || {};
    const total = p.total || {};
    const known = S.labels.OUTCOMES.map((o) => o.label);
    const extra = [...new Set([...Object.keys(last), ...Object.keys(total)])].filter((l) => !known.includes(l)).sort();
    const labels = known.concat(extra);
    const seen = labels.filter((l) => l === 'success' || last[l] || total[l]);
    const quiet = labels.filter((l) => !seen.includes(l));

    const row = (label) => h('tr', null,
      h('th', { scope: 'row' }, outcomeBadge(label)),
      h('td', { class: 'num', testid: `count-${name}-${label}-24h` }, String(Number(last[label]) || 0)),
      h('td', { class: 'num', testid: `count-${name}-${label}-total` }, String(Number(total[label]) || 0)),
      h('td', { class: 'meaning' }, S.labels.outcome(label).meaning));
    const columns = [{ title: 'Outcome' }, { title: 'Last 24 h', class: 'num' }, { title: 'Total', class: 'num' }, { title: 'Meaning' }];

    const sum24 = Object.values(last).reduce((s, v) => s + (Number(v) || 0), 0);
    const ok24 = Number(last.success) || 0;
    const rate = sum24 ? ` ${Math.round((ok24 / sum24) * 1000) / 10}% succeeded.` : '';
    return [
      h('p', { class: 'note' }, `${plural(sum24, 'PKIOperation request', 'PKIOperation requests')} in the last 24 hours, cluster-wide.${rate}`),
      table({ caption: `Outcome counts for ${name}`, columns, rows: seen.map(row), className: 'counts' }),
      quiet.length
        ? h('details', { class: 'quiet-labels', 'data-key': 'quiet' },
          h('summary', null, `Labels with no events (${quiet.length})`),
          table({ caption: `Outcomes with no events for ${name}`, columns, rows: quiet.map(row), className: 'counts' }))
        : null,
    ];
  }

  function hourlyView(p) {
    if (!Array.isArray(p.hourly)) return h('p', { class: 'empty' }, 'The server sent no hourly figures for this profile.');
    return S.charts.barChart({
      title: `Enrollments per hour for ${p.profile}, last 24 hours (UTC)`,
      points: p.hourly.map((x) => ({
        label: `${formatTime(x.hour)}`,
        tick: S.charts.hourTick(x.hour),
        values: { success: x.success, failure: x.failure },
      })),
      series: [
        { key: 'success', name: 'succeeded', className: 'fill-success' },
        { key: 'failure', name: 'refused', className: 'fill-failure' },
      ],
      xAxisLabel: 'Hour (UTC)',
      testid: `chart-hourly-${p.profile}`,
    });
  }

  function anchorsView(p) {
    const anchors = Array.isArray(p.trustAnchors) ? p.trustAnchors : [];
    if (!anchors.length) {
      return h('p', { class: 'empty' }, p.intuneAPI
        ? 'None: in intune-api mode Intune checks the challenges, not trust anchors.'
        : 'No live edge reports trust anchors for this profile.');
    }
    const rows = anchors.map((a) => {
      const info = ANCHOR_BADGES[a.badge] || { text: String(a.badge || 'unknown'), kind: 'grey', title: '' };
      const days = Number(a.daysLeft);
      const daysText = a.badge === 'expired' || days < 0
        ? `expired ${plural(Math.abs(days), 'day', 'days')} ago`
        : plural(days, 'day', 'days');
      return h('tr', null,
        h('td', null, a.subject || '\u2014'),
        h('td', null, shortFingerprint(a.fingerprint)),
        h('td', null, timeEl(a.notAfter)),
        h('td', { class: 'num' }, daysText),
        h('td', null, badge(info.text, info.kind, {
          testid: `badge-${String(a.fingerprint || '').slice(0, 12)}`,
          'data-badge': a.badge, title: info.title,
        })));
    });
    const urgent = anchors.filter((a) => a.badge !== 'green');
    return [
      urgent.length
        ? h('p', { class: 'callout callout-warn' },
          `${plural(urgent.length, 'trust anchor expires', 'trust anchors expire')} within 30 days or already expired: `
          + 'renew the Connector certificate, add it to the bundle and reload (docs/intune.md \u00a76).')
        : null,
      table({
        caption: `Trust anchors of ${p.profile}, soonest to expire first`,
        columns: [{ title: 'Subject' }, { title: 'SHA-256 fingerprint' }, { title: 'Not after' }, { title: 'Days left', class: 'num' }, { title: 'Status' }],
        rows,
      }),
    ];
  }

  function edgesView(p, generatedAt) {
    const edges = Array.isArray(p.edges) ? p.edges : [];
    if (!edges.length) return h('p', { class: 'empty' }, 'No live edge serves this profile with Intune trust anchors.');
    const now = new Date(generatedAt || Date.now()).getTime();
    const agreement = p.edgesInAgreement
      ? h('p', null, badge('All edges agree', 'green', { testid: `agreement-${p.profile}` }), ' Every live edge uses the same trust anchors.')
      : h('p', { class: 'callout callout-bad' }, badge('Edges disagree', 'red', { testid: `agreement-${p.profile}` }),
        ' Some edges use other trust anchors: check the bundle files on the edges marked \u201cdiffers\u201d, then reload the trust anchors.');
    const rows = edges.map((e) => h('tr', { testid: `edge-row-${p.profile}-${e.id}` },
      h('th', { scope: 'row' }, e.id || '\u2014'),
      h('td', null, e.version || '\u2014'),
      h('td', null, timeEl(e.lastHeartbeat), h('span', { class: 'muted' }, ` (${ago(e.lastHeartbeat, now)})`)),
      h('td', null, (e.fingerprints || []).length
        ? h('ul', { class: 'plain' }, e.fingerprints.map((fp) => h('li', null, shortFingerprint(fp))))
        : h('span', { class: 'muted' }, 'none')),
      h('td', null, e.inAgreement ? badge('agrees', 'green') : badge('differs', 'red'))));
    return [
      agreement,
      table({
        caption: `Live edges of ${p.profile}`,
        columns: [{ title: 'Edge' }, { title: 'Version' }, { title: 'Last heartbeat' }, { title: 'Trust anchors' }, { title: 'Anchors' }],
        rows,
      }),
    ];
  }

  function intuneAPIView(status) {
    const services = Array.isArray(status.services) ? status.services : [];
    const rows = services.map((s) => {
      const info = BREAKERS[s.breaker] || { kind: 'grey', note: '' };
      return h('tr', null,
        h('th', { scope: 'row' }, s.service),
        h('td', null, badge(s.breaker || 'unknown', info.kind), info.note ? h('span', { class: 'muted' }, ` ${info.note}`) : null),
        h('td', null, timeEl(s.lastSuccess)),
        h('td', null, timeEl(s.lastFailure)),
        h('td', { class: 'details' }, s.lastError || h('span', { class: 'muted' }, '\u2014')));
    });
    return [
      h('p', { class: 'note' }, 'As the replica that answered has seen them since it started; another replica may differ.'),
      table({
        caption: 'Intune services',
        columns: [{ title: 'Service' }, { title: 'Breaker' }, { title: 'Last success' }, { title: 'Last failure' }, { title: 'Last error' }],
        rows,
        empty: 'No Intune service has been called yet.',
      }),
    ];
  }

  function failuresView(p, generatedAt) {
    const failures = Array.isArray(p.recentFailures) ? p.recentFailures : [];
    const rows = failures.map((f) => {
      const info = S.labels.outcome(f.outcome);
      return h('tr', { testid: 'failure-row' },
        h('td', { class: 'nowrap' }, timeEl(f.time), h('div', { class: 'muted small' }, `edge ${f.edge || '\u2014'}`)),
        h('td', null, outcomeBadge(f.outcome), f.failInfo ? h('div', { class: 'muted small' }, f.failInfo) : null),
        h('td', { class: 'device' }, f.deviceName || f.claimSubject || h('span', { class: 'muted' }, '\u2014'),
          f.deviceName && f.claimSubject ? h('div', { class: 'muted small' }, f.claimSubject) : null),
        h('td', { class: 'ident' }, f.transactionID
          ? h('a', { href: `#/audit?transactionID=${encodeURIComponent(f.transactionID)}`, title: 'Audit events of this transaction' }, code(f.transactionID))
          : h('span', { class: 'muted' }, '\u2014')),
        h('td', { class: 'details' }, f.details || h('span', { class: 'muted' }, '\u2014'),
          // What the device asked for beside what the challenge claims: a claim_mismatch is read here.
          more([
            ['Source address', f.sourceAddress],
            ['Claim subject', f.claimSubject],
            ['Claim issuer', f.claimIssuer],
            ['CSR subject', f.csrSubject],
            ['CSR SANs', f.csrSANs ? sanList(f.csrSANs) : undefined],
          ], { 'data-key': `more-${f.time}-${f.edge}-${f.transactionID}` })),
        h('td', { class: 'hint-cell' }, h('div', null, info.meaning), h('div', { class: 'muted' }, 'Check: ', info.hint)));
    });
    return [
      h('p', { class: 'note' }, `The last 50 refusals, newest first, as of ${formatTime(generatedAt)}. Refreshed every 60 s.`),
      table({
        caption: `Recent failures of ${p.profile}`,
        columns: [{ title: 'Time and edge' }, { title: 'Outcome and failInfo' }, { title: 'Device' }, { title: 'Transaction' }, { title: 'Details' }, { title: 'Meaning and what to check' }],
        rows,
        empty: 'No refusals recorded for this profile.',
        className: 'failures fit-window',
      }),
    ];
  }

  // ---- Cards -------------------------------------------------------------

  /** A card: the settings, and for an admin (`full`) the figures. */
  function createCard(name, full) {
    const titleID = `card-title-${++cardSeq}`;
    const parts = { mode: h('p', { class: 'card-mode' }), settings: section('Settings') };
    parts.settings.el.setAttribute('data-testid', `settings-${name}`);
    if (full) {
      Object.assign(parts, {
        counts: section('Outcomes'),
        hourly: section('Enrollments per hour'),
        anchors: section('Trust anchors'),
        edges: section('Edges'),
        intuneAPI: section('Intune API'),
        failures: section('Recent failures'),
      });
    }
    const el = h('article', { class: 'card', testid: `profile-card-${name}`, 'aria-labelledby': titleID },
      h('h2', { id: titleID }, name),
      parts.mode,
      parts.settings.el,
      full ? [h('div', { class: 'card-grid' }, parts.counts.el, parts.hourly.el),
        parts.anchors.el, parts.edges.el, parts.intuneAPI.el, parts.failures.el] : null);
    return { el, parts, full, failuresShown: false };
  }

  /** Redraws one part, keeping a <details> the user opened open. */
  function redraw(part, content) {
    const open = new Set([...part.body.querySelectorAll('details[open][data-key]')].map((d) => d.getAttribute('data-key')));
    fill(part.body, content);
    for (const d of part.body.querySelectorAll('details[data-key]')) if (open.has(d.getAttribute('data-key'))) d.open = true;
  }

  const MODE_LINES = {
    'intune-api': 'intune-api mode: Intune validates each challenge.',
    'signed-challenge': 'signed-challenge mode: edges verify each challenge against the trust anchors.',
    mixed: 'Not every edge, or not the control plane, runs this profile in the same Intune mode: see Settings.',
  };

  /** p: the profile's stats (undefined for a viewer); entry: its element of GET /api/v1/profiles. */
  function updateCard(card, name, p, entry, generatedAt, withFailures) {
    const stats = p || {};
    const anchors = Array.isArray(stats.trustAnchors) ? stats.trustAnchors.length : 0;
    const mode = S.intuneSettings.modeOf(entry) || (stats.intuneAPI ? 'intune-api' : anchors ? 'signed-challenge' : null);
    card.parts.mode.textContent = MODE_LINES[mode] || 'No live edge reports this profile\u2019s Intune mode.';
    redraw(card.parts.settings, S.intuneSettings.view(name, entry, { loaded: Boolean(profiles.list), ...profiles }, stats.intuneAPI));
    if (!card.full) return;
    redraw(card.parts.counts, countsView(p));
    redraw(card.parts.hourly, hourlyView(p));
    redraw(card.parts.anchors, anchorsView(p));
    redraw(card.parts.edges, edgesView(p, generatedAt));
    card.parts.intuneAPI.el.hidden = !p.intuneAPI;
    if (p.intuneAPI) redraw(card.parts.intuneAPI, intuneAPIView(p.intuneAPI));
    if (withFailures || !card.failuresShown) {
      redraw(card.parts.failures, failuresView(p, generatedAt));
      card.failuresShown = true;
    }
  }

  /**
   * Whether a profile gets a card. GET /api/v1/profiles says it when a live edge reports the
   * profile (its Intune mode) or the control plane runs it in intune-api mode. Otherwise (no live
   * edge serves it, Redis or the profiles cannot be read) the stats guess: intune-api mode, or a
   * live edge that verifies Intune challenges for it (edges report trust anchors for those
   * profiles only). A card the guess once showed stays while its edges come and go.
   */
  function isIntune(name, p, entry) {
    const known = S.intuneSettings.isIntune(entry);
    if (known !== null) return known;
    return Boolean(p && (p.intuneAPI || (Array.isArray(p.edges) && p.edges.length > 0)
      || (Array.isArray(p.trustAnchors) && p.trustAnchors.length > 0))) || cards.has(name);
  }

  /** The line naming the profiles without a card; one element, updated in place. */
  const notIntune = h('p', { class: 'note', testid: 'not-intune' });
  /** A viewer's line above the cards; one element. */
  const needsAdmin = h('p', { class: 'callout', id: 'intune-needs-admin' });

  /** stats: the admin's answer, null for a viewer (the profiles then name the profiles). */
  function render(stats, withFailures) {
    const content = $('#intune-content');
    const full = Boolean(stats);
    const list = profiles.list || [];
    const entries = new Map(list.map((e) => [String(e.name), e]));
    const byName = new Map(full ? (Array.isArray(stats.profiles) ? stats.profiles : []).map((p) => [String(p.profile), p]) : []);
    const names = full ? [...byName.keys()] : [...entries.keys()];
    const intune = names.filter((n) => isIntune(n, byName.get(n), entries.get(n)));
    const others = names.filter((n) => !intune.includes(n));
    const order = [];
    if (!full) {
      fill(needsAdmin, `You are signed in as \u201c${S.session.name}\u201d with the viewer role: the cards show each Intune `
        + 'profile\u2019s settings only. The counters, trust anchors, edges and recent failures need an admin token.');
      order.push(needsAdmin);
    }
    for (const name of intune) {
      let card = cards.get(name);
      if (!card) {
        card = createCard(name, full);
        cards.set(name, card);
      }
      updateCard(card, name, byName.get(name), entries.get(name), full ? stats.generatedAt : '', withFailures);
      order.push(card.el);
    }
    for (const name of [...cards.keys()]) if (!intune.includes(name)) cards.delete(name);
    if (!intune.length) {
      order.push(h('p', { class: 'empty' }, names.length
        ? 'No Intune profile: none is in intune-api mode, and no live edge verifies Intune challenges for one.'
        : full ? 'No profile to show: none is configured and the audit log names none.' : 'No profile is configured.'));
    }
    if (others.length) {
      const one = others.length === 1;
      fill(notIntune, `No card for ${others.join(', ')}: ${one ? 'not an Intune profile' : 'not Intune profiles'} `
        + `(no intune-api mode, and no live edge verifies Intune challenges for ${one ? 'it' : 'them'}), `
        + `like ${one ? 'a static-password profile' : 'static-password profiles'}. `
        + 'A signed-challenge profile whose edges are all down is named here too.');
      order.push(notIntune);
    }
    const current = [...content.children];
    if (current.length !== order.length || current.some((el, i) => el !== order[i])) content.replaceChildren(...order);
    if (wanted && cards.has(wanted)) cards.get(wanted).el.scrollIntoView({ block: 'start' });
    wanted = '';
  }

  /** Takes the answer of GET /api/v1/profiles (a settled promise) into `profiles`; returns its error, if any. */
  function takeProfiles(result) {
    if (result.status === 'fulfilled' && Array.isArray(result.value)) {
      Object.assign(profiles, { list: result.value, asOf: toISO(new Date()), failedAt: '', message: '' });
      return null;
    }
    const error = result.status === 'rejected' ? result.reason : new Error('The answer is not a list of profiles');
    Object.assign(profiles, { failedAt: toISO(new Date()), message: error instanceof Error ? error.message : String(error) });
    return error;
  }

  async function load(forceFailures) {
    if (!active || !S.session || inFlight) return;
    const admin = S.session.isAdmin;
    const mine = generation;
    inFlight = mine;
    lastLoadAt = Date.now();
    // Polled: with figures shown, the line changes when the answer comes, not at each request.
    if (!status.shown) setStatus($('#intune-status'), 'Loading\u2026');
    try {
      // For an admin, the settings are a part of each card: their failure is said there, not for the page.
      const [stats, settings] = await Promise.all([
        admin ? S.api.intuneStats() : null,
        S.api.profiles().then((value) => ({ status: 'fulfilled', value }), (reason) => ({ status: 'rejected', reason })),
      ]);
      if (mine !== generation) return;
      const settingsError = takeProfiles(settings);
      if (!admin && !profiles.list) throw settingsError;
      const now = Date.now();
      const failuresDue = forceFailures || now - lastFailuresAt >= FAILURES_EVERY_MS - 2000;
      render(admin ? stats || {} : null, failuresDue);
      if (failuresDue) lastFailuresAt = now;
      clearError();
      if (admin) {
        const asOf = (stats && stats.generatedAt) || toISO(new Date());
        status.current(asOf, `Counters as of ${formatTime(asOf)}; refreshed every 30 s, failures every 60 s.`);
      } else if (profiles.failedAt) {
        status.failed('The profiles could not be loaded.');
        showError(settingsError, 'Profiles');
      } else {
        status.current(profiles.asOf, `Settings as of ${formatTime(profiles.asOf)}; refreshed every 30 s.`);
      }
    } catch (error) {
      if (mine !== generation) return;
      showError(error, admin ? 'Intune stats' : 'Profiles');
      status.failed(admin ? 'The Intune stats could not be loaded.' : 'The profiles could not be loaded.');
    } finally {
      if (inFlight === mine) inFlight = 0;
    }
  }

  function tick() {
    if (!document.hidden) load(false);
  }

  function onVisible() {
    if (active && !document.hidden && Date.now() - lastLoadAt >= COUNTERS_EVERY_MS) load(false);
  }

  // ---- Reload dialog -----------------------------------------------------

  function reloadAnswerView(answer) {
    const edges = Array.isArray(answer && answer.edges) ? answer.edges : [];
    const gen = answer && answer.generation !== undefined ? `Generation ${answer.generation}: ` : '';
    if (!edges.length) {
      return h('p', { class: 'callout callout-warn', testid: 'reload-summary' },
        `${gen}no edge is live, so none was asked. Edges that start later load their bundles at start.`);
    }
    const countOf = (s) => edges.filter((e) => e.status === s).length;
    const summary = `${gen}${countOf('reloaded')} reloaded, ${countOf('failed')} failed, ${countOf('no_answer')} did not answer.`;
    const rows = edges.map((e) => {
      const info = RELOAD_STATUS[e.status] || { kind: 'grey', note: '' };
      const profiles = Array.isArray(e.profiles) ? e.profiles : [];
      return h('tr', { testid: `reload-edge-${e.edge}` },
        h('th', { scope: 'row' }, e.edge),
        h('td', null, badge(e.status || 'unknown', info.kind, { testid: `reload-status-${e.edge}` }), h('div', { class: 'muted small' }, info.note)),
        h('td', null, profiles.length
          ? h('ul', { class: 'plain' }, profiles.map((r) => {
            const anchors = plural((r.fingerprints || []).length, 'anchor', 'anchors');
            return r.succeeded
              ? h('li', null, h('strong', null, r.profile), `: reloaded, ${anchors} in use`)
              : h('li', { class: 'error-text' }, h('strong', null, r.profile), `: refused \u2014 ${r.error || 'no reason given'}. Keeps ${anchors}.`);
          }))
          : h('span', { class: 'muted' }, e.status === 'no_answer' ? 'no report' : 'no Intune profiles')));
    });
    return [
      h('p', { class: countOf('reloaded') === edges.length ? 'callout callout-ok' : 'callout callout-warn', testid: 'reload-summary' }, summary),
      table({ caption: 'Each edge\u2019s answer', columns: [{ title: 'Edge' }, { title: 'Status' }, { title: 'Profiles' }], rows }),
    ];
  }

  function openReload() {
    const confirm = $('#reload-confirm');
    fill($('#reload-result'));
    confirm.hidden = false;
    confirm.disabled = false;
    $('#reload-cancel').textContent = 'Cancel';
    openDialog($('#reload-dialog'), confirm, $('#reload-trust'));
  }

  async function confirmReload() {
    const confirm = $('#reload-confirm');
    const result = $('#reload-result');
    confirm.disabled = true;
    fill(result, h('p', { class: 'status' }, 'Asking every live edge to reload\u2026 this takes up to 10 seconds.'));
    try {
      const answer = await S.api.reloadTrust();
      if (!result.isConnected) return;
      fill(result, reloadAnswerView(answer));
      confirm.hidden = true;
      $('#reload-cancel').textContent = 'Close';
      $('#reload-cancel').focus();
      load(true);
    } catch (error) {
      if (!result.isConnected) return;
      fill(result, errorLine(error, 'The trust anchors were not reloaded'));
      confirm.disabled = false;
    }
  }

  // ---- Page --------------------------------------------------------------

  S.pages = S.pages || {};
  S.pages.intune = {
    init() {
      document.addEventListener('visibilitychange', onVisible);
    },
    /** Adds the reload button and dialog (admin tokens only). */
    installAdmin() {
      const button = cloneTemplate('tpl-reload-button');
      $('#intune-actions').appendChild(button);
      const dialog = cloneTemplate('tpl-reload-dialog');
      document.body.appendChild(dialog);
      button.addEventListener('click', openReload);
      $('#reload-confirm').addEventListener('click', confirmReload);
      $('#reload-cancel').addEventListener('click', () => dialog.close());
    },
    show(params) {
      active = true;
      generation++;
      wanted = (params && params.get('profile')) || '';
      load(true);
      timer = setInterval(tick, COUNTERS_EVERY_MS);
    },
    hide() {
      active = false;
      generation++;
      inFlight = 0;
      wanted = '';
      if (timer) clearInterval(timer);
      timer = null;
    },
    reset() {
      this.hide();
      cards.clear();
      Object.assign(profiles, { list: null, asOf: '', failedAt: '', message: '' });
      lastFailuresAt = 0;
      status.clear();
      fill($('#intune-content'));
    },
  };
})();
