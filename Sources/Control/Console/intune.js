// Intune monitoring page (#/intune), admin only: one card per profile from
// GET /api/v1/admin/scep/intune/stats, polled every 30 s (the recent failures
// table is redrawn every 60 s from the same answer), and the trust reload dialog.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const {
    h, fill, $, setStatus, freshness, showError, clearError, errorLine, formatTime, toISO, timeEl, ago, plural,
    badge, outcomeBadge, table, dl, code, shortFingerprint, openDialog, cloneTemplate,
  } = S.ui;

  const COUNTERS_EVERY_MS = 30000;
  const FAILURES_EVERY_MS = 60000;

  const ANCHOR_BADGES = {
    green: { text: 'OK', kind: 'green', title: '30 days or more left' },
    amber: { text: 'Renew soon', kind: 'amber', title: '7 to 29 days left' },
    red: { text: 'Renew now', kind: 'red', title: 'fewer than 7 days left' },
    expired: { text: 'Expired', kind: 'expired', title: 'past notAfter' },
  };
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
  const cards = new Map(); // profile name -> {el, parts, failuresShown}
  const status = freshness('#intune-status', '#intune-content');

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
      dl([['Tenant', status.tenantID || ''], ['Client (application) ID', status.clientID ? code(status.clientID) : '']]),
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
        h('td', null, f.deviceName || f.claimSubject || h('span', { class: 'muted' }, '\u2014'),
          f.deviceName && f.claimSubject ? h('div', { class: 'muted small' }, f.claimSubject) : null),
        h('td', { class: 'ident' }, f.transactionID
          ? h('a', { href: `#/audit?transactionID=${encodeURIComponent(f.transactionID)}`, title: 'Audit events of this transaction' }, code(f.transactionID))
          : h('span', { class: 'muted' }, '\u2014')),
        h('td', { class: 'details' }, f.details || h('span', { class: 'muted' }, '\u2014')),
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

  function createCard(p) {
    const titleID = `card-title-${++cardSeq}`;
    const parts = {
      mode: h('p', { class: 'card-mode' }),
      counts: section('Outcomes'),
      hourly: section('Enrollments per hour'),
      anchors: section('Trust anchors'),
      edges: section('Edges'),
      intuneAPI: section('Intune API'),
      failures: section('Recent failures'),
    };
    const el = h('article', { class: 'card', testid: `profile-card-${p.profile}`, 'aria-labelledby': titleID },
      h('h2', { id: titleID }, p.profile),
      parts.mode,
      h('div', { class: 'card-grid' }, parts.counts.el, parts.hourly.el),
      parts.anchors.el, parts.edges.el, parts.intuneAPI.el, parts.failures.el);
    return { el, parts, failuresShown: false };
  }

  /** Redraws one part, keeping a <details> the user opened open. */
  function redraw(part, content) {
    const open = new Set([...part.body.querySelectorAll('details[open][data-key]')].map((d) => d.getAttribute('data-key')));
    fill(part.body, content);
    for (const d of part.body.querySelectorAll('details[data-key]')) if (open.has(d.getAttribute('data-key'))) d.open = true;
  }

  function updateCard(card, p, generatedAt, withFailures) {
    const anchors = Array.isArray(p.trustAnchors) ? p.trustAnchors.length : 0;
    card.parts.mode.textContent = p.intuneAPI
      ? 'intune-api mode: Intune validates each challenge.'
      : anchors
        ? 'signed-challenge mode: edges verify each challenge against these trust anchors.'
        : 'No Intune trust anchors reported for this profile.';
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
   * Whether a profile of the stats is an Intune profile. The stats list every profile, static
   * password ones too; GET /api/v1/profiles names only intune-api settings, since signed-challenge
   * is the edges' configuration. So: intune-api mode, or a live edge that verifies Intune challenges
   * for it (edges report trust anchors for those profiles only). A card once shown stays while its
   * edges come and go.
   */
  function isIntune(p) {
    return Boolean(p.intuneAPI) || (Array.isArray(p.edges) && p.edges.length > 0)
      || (Array.isArray(p.trustAnchors) && p.trustAnchors.length > 0) || cards.has(p.profile);
  }

  /** The line naming the profiles without a card; one element, updated in place. */
  const notIntune = h('p', { class: 'note', testid: 'not-intune' });

  function render(stats, withFailures) {
    const content = $('#intune-content');
    const profiles = Array.isArray(stats.profiles) ? stats.profiles : [];
    const intune = profiles.filter(isIntune);
    const others = profiles.filter((p) => !intune.includes(p)).map((p) => String(p.profile));
    const order = [];
    for (const p of intune) {
      let card = cards.get(p.profile);
      if (!card) {
        card = createCard(p);
        cards.set(p.profile, card);
      }
      updateCard(card, p, stats.generatedAt, withFailures);
      order.push(card.el);
    }
    const names = new Set(intune.map((p) => p.profile));
    for (const name of [...cards.keys()]) if (!names.has(name)) cards.delete(name);
    if (!intune.length) {
      order.push(h('p', { class: 'empty' }, profiles.length
        ? 'No Intune profile: none is in intune-api mode, and no live edge verifies Intune challenges for one.'
        : 'No profile to show: none is configured and the audit log names none.'));
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
  }

  async function load(forceFailures) {
    if (!active || !S.session || !S.session.isAdmin || inFlight) return;
    const mine = generation;
    inFlight = mine;
    lastLoadAt = Date.now();
    // Polled: with figures shown, the line changes when the answer comes, not at each request.
    if (!status.shown) setStatus($('#intune-status'), 'Loading\u2026');
    try {
      const stats = await S.api.intuneStats();
      if (mine !== generation) return;
      const now = Date.now();
      const failuresDue = forceFailures || now - lastFailuresAt >= FAILURES_EVERY_MS - 2000;
      render(stats || {}, failuresDue);
      if (failuresDue) lastFailuresAt = now;
      clearError();
      const asOf = (stats && stats.generatedAt) || toISO(new Date());
      status.current(asOf, `Counters as of ${formatTime(asOf)}; refreshed every 30 s, failures every 60 s.`);
    } catch (error) {
      if (mine !== generation) return;
      showError(error, 'Intune stats');
      status.failed('The Intune stats could not be loaded.');
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
    show() {
      active = true;
      generation++;
      if (!S.session.isAdmin) {
        setStatus($('#intune-status'), '');
        fill($('#intune-content'), h('p', { class: 'callout', id: 'intune-needs-admin' },
          `This page needs an admin token. You are signed in as \u201c${S.session.name}\u201d with the viewer role; `
          + 'sign out and sign in with an admin token to see the Intune counters, trust anchors, edges and failures.'));
        return;
      }
      load(true);
      timer = setInterval(tick, COUNTERS_EVERY_MS);
    },
    hide() {
      active = false;
      generation++;
      inFlight = 0;
      if (timer) clearInterval(timer);
      timer = null;
    },
    reset() {
      this.hide();
      cards.clear();
      lastFailuresAt = 0;
      status.clear();
      fill($('#intune-content'));
    },
  };
})();
