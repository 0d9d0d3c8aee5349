// Scepter web console: sign-in, session, hash router and the admin controls.
//
// Served by the control plane at /admin (SPEC §10) with a strict CSP: no inline
// script or style, so every script is a file of this folder and looks are CSS
// classes. Scripts load in this order (index.html): labels.js, ui.js, api.js,
// charts.js, overview.js, edge-settings.js, intune-settings.js, profiles.js, intune.js,
// certificates.js, audit.js, console.js.
//
// Routes: #/overview  #/profiles  #/intune  #/certificates  #/certificates/<serial>  #/audit
//   #/intune?profile=<name> shows that profile's card at the top of the window (the Profiles
//   page links to it).
//   #/certificates and #/audit also take filters after "?" to prefill and run a
//   search, e.g. #/certificates?state=active&expiring=30&sort=notAfter,
//   #/audit?transactionID=…  (q device serial profile state expiring sort /
//   profile outcome operation device claimSub transactionID serial).
//
// Stable hooks for browser tests ("#" = id, [x] = data-testid):
//   Shell     #signin (form)  #token (type=password)  #signin-submit  #signin-error
//             #signout  #whoami-text  #error (API error banner)  #error-text  #error-dismiss
//             #nav-overview  #nav-profiles  #nav-intune  #nav-certificates  #nav-audit (the current
//             one has aria-current=page)
//   Pages     #page-overview  #page-profiles  #page-intune  #page-certificates  #page-certificate (detail)
//             #page-audit  #page-notfound  (only the current page is visible; the others have [hidden])
//   Overview  [total-active] [total-expiring] [total-revoked] (links; number in [total-…-value])
//             [certs-expiring] (link to #/profiles; [certs-expiring-value] a count, "unknown" or "…",
//               [certs-expiring-note]; class tile-warn or tile-bad unless all OK)
//             [total-superseded]  [chart-issued]  [chart-expiring] (figure > svg)  #overview-refresh
//             #overview-status  #overview-content (class stale: figures kept after a failed refresh)
//   Profiles  [profiles-card-<profile>] (every profile)  #profiles-refresh  #profiles-status
//             #profiles-content (class stale: cards kept after a failed refresh)
//             [profiles-setting-<profile>-<key>] (dt = label, dd = value; keys ra staticPassword
//               renewalLimit mode from the edges, certValidity maxValidity ekus minRSABits keyUsage,
//               issuerName issuerNotAfter issuerSubject; a value the edges differ on is "differs";
//               the ra and issuerNotAfter badges, shown unless green, have data-badge = amber|red|expired)
//             [profiles-settings-disagree-<profile>] [profiles-settings-group-<profile>] (as Intune's)
//             [profiles-intune-<profile>] (an Intune profile's line, linking to its Intune card)
//             [profiles-expiry-warning] (above the cards: each RA certificate, <li> of [profiles-expiry-ra],
//               and each issuing CA, <li> of [profiles-expiry-ca], not badged green)
//   Intune    [profile-card-<profile>] (Intune profiles only)  [not-intune] (names the others)
//             [settings-<profile>] (the card's Settings section, admin and viewer)
//             [setting-<profile>-<key>] (dt = label, dd = value; keys rateLimit validity clockSkew
//               audience sanTypes compliance webhookRequests replayWindow staticPassword renewalLimit
//               ra tenant client credential; a value the edges differ on is the badge "differs";
//               ra's badge, shown unless green, has data-badge = amber|red|expired)
//             [settings-disagree-<profile>] (the edges differ; one [settings-group-<profile>] <li> per
//               group of edges: "edge-0, edge-1: rate limit 3, clock skew ±60 s")
//             [settings-no-credentials-<profile>] (edges in intune-api mode, a control plane without
//               its credentials: names those edges, and in a <ul> the variables to set)
//             [count-<profile>-<label>-24h]  [count-<profile>-<label>-total]  (every label of
//               Outcome.swift, "0" when none; labels with no events sit in a closed <details>)
//             [badge-<first 12 hex of the anchor's fingerprint>] (text OK / Renew soon / Renew now /
//               Expired, data-badge = green|amber|red|expired)
//             [chart-hourly-<profile>]  [agreement-<profile>]  [edge-row-<profile>-<edge id>]
//             [failure-row] (its Details cell: details.more, a dl)
//             #intune-needs-admin (viewer's sentence above the cards)  #intune-status
//             #intune-content (class stale: figures kept after a failed refresh)
//             admin: #reload-trust  #reload-dialog  #reload-confirm  #reload-cancel  #reload-result
//               (in it: [reload-summary]  [reload-edge-<edge>]  [reload-status-<edge>] = reloaded|failed|no_answer)
//   Certificates  #cert-q  #cert-device  #cert-serial  #cert-profile  #cert-state (select)
//             #cert-expiring-days (number of days)  #cert-sort (select)  #cert-search (submit)  #cert-clear
//             #cert-status  #cert-results  [cert-table]  [cert-row-<serial>] (first cell links to the detail)
//             #cert-next  #cert-first
//             admin: #bulk  #bulk-profile  #bulk-device  #bulk-claimsub
//               #bulk-issued-before (datetime-local, local time: "2026-12-01T09:00" or "…T09:00:00")
//               #bulk-reason  #bulk-dry-run  #bulk-result ([bulk-dry-run-result] "N certificates match,
//               M would be revoked, K already revoked."; [bulk-done])  #bulk-confirm (shown when M > 0)
//   Detail    #cert-detail  #cert-detail-title  #cert-state-value (text = the state)  #download-pem
//             [revocation-reason]  [cert-audit-row]  #cert-detail-status  #cert-back
//             admin: #revoke (not rendered for a revoked certificate)  #revoke-dialog  #revoke-reason (select)
//               #revoke-invalidity (datetime-local, optional)  #revoke-confirm  #revoke-cancel
//               #revoke-result ([revoke-outcome])
//   Audit     #audit-profile  #audit-outcome (select)  #audit-operation (select)  #audit-device
//             #audit-claimsub  #audit-transaction  #audit-serial  #audit-since  #audit-until
//             (datetime-local)  #audit-search  #audit-export (saves audit.csv)  #audit-clear
//             #audit-status  [audit-table]  [audit-row] (its Details cell: details.more, a dl)  #audit-next  #audit-first
//   Admin controls are copied from <template>s only for a token with the admin role: for a
//   viewer they are not in the page at all.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const { h, fill, $, clearError } = S.ui;
  const api = S.api;

  /** The signed-in holder: {name, roles, isAdmin}, or null. */
  S.session = null;

  const PAGES = {
    overview: { section: '#page-overview', nav: '#nav-overview', title: 'Overview' },
    profiles: { section: '#page-profiles', nav: '#nav-profiles', title: 'Profiles' },
    intune: { section: '#page-intune', nav: '#nav-intune', title: 'Intune monitoring' },
    certificates: { section: '#page-certificates', nav: '#nav-certificates', title: 'Certificates' },
    certificate: { section: '#page-certificate', nav: '#nav-certificates', title: 'Certificate' },
    audit: { section: '#page-audit', nav: '#nav-audit', title: 'Audit log' },
    notfound: { section: '#page-notfound', nav: null, title: 'No such page' },
  };

  let currentPage = null;

  // ---- Router --------------------------------------------------------------

  /** '#/certificates/abc?x=1' -> {name: 'certificate', arg: 'abc', params}. */
  function parseRoute(hash) {
    const raw = (hash || '').replace(/^#/, '');
    const q = raw.indexOf('?');
    const path = q >= 0 ? raw.slice(0, q) : raw;
    // A `+` is itself, not a space: transaction IDs (base64) pasted into the address keep theirs.
    const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1).replace(/\+/g, '%2B') : '');
    if (path === '' || path === '/') return { name: '', params };
    if (path === '/overview') return { name: 'overview', params };
    if (path === '/profiles') return { name: 'profiles', params };
    if (path === '/intune') return { name: 'intune', params };
    if (path === '/certificates') return { name: 'certificates', params };
    if (path === '/audit') return { name: 'audit', params };
    const m = /^\/certificates\/([^/]+)$/.exec(path);
    if (m) {
      let serial = m[1];
      try { serial = decodeURIComponent(serial); } catch (_) { /* keep it as it is */ }
      return { name: 'certificate', arg: serial, params };
    }
    return { name: 'notfound', params };
  }

  function route() {
    if (!S.session) return;
    const r = parseRoute(location.hash);
    if (!r.name) {
      location.replace('#/overview');
      return;
    }
    if (currentPage && S.pages[currentPage]) S.pages[currentPage].hide();
    // A dialog belongs to the page that opened it (a revocation of that page's certificate).
    for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
    clearError();
    for (const [name, page] of Object.entries(PAGES)) $(page.section).hidden = name !== r.name;
    for (const page of Object.values(PAGES)) {
      if (page.nav) $(page.nav).removeAttribute('aria-current');
    }
    const page = PAGES[r.name];
    if (page.nav) $(page.nav).setAttribute('aria-current', 'page');
    document.title = `${r.name === 'certificate' ? `Certificate ${r.arg}` : page.title} \u2014 Scepter console`;
    const previous = currentPage;
    currentPage = r.name;
    if (S.pages[r.name]) {
      try {
        S.pages[r.name].show(r.params, r.arg);
      } catch (error) {
        S.ui.showError(error, 'The console could not show this page');
      }
    }
    // Move focus to the new page's heading, as a page load would (not on the first page).
    if (previous && r.name !== 'certificate') {
      const heading = $(`${page.section} h1`);
      if (heading) heading.focus();
    }
  }

  // ---- Sign-in and session -------------------------------------------------

  function showSignIn(message) {
    $('#booting').hidden = true;
    $('#nav').hidden = true;
    $('#whoami').hidden = true;
    for (const page of Object.values(PAGES)) $(page.section).hidden = true;
    clearError();
    const error = $('#signin-error');
    error.textContent = message || '';
    error.hidden = !message;
    $('#token').setAttribute('aria-invalid', message ? 'true' : 'false');
    $('#signin-view').hidden = false;
    $('#signin-submit').disabled = false;
    document.title = 'Sign in \u2014 Scepter console';
    $('#token').focus();
  }

  function showApp() {
    $('#booting').hidden = true;
    $('#signin-view').hidden = true;
    $('#nav').hidden = false;
    $('#whoami').hidden = false;
    const role = S.session.isAdmin ? 'admin' : 'viewer';
    fill($('#whoami-text'), 'Signed in as ', h('strong', null, S.session.name), ` (${role})`);
  }

  function installAdminControls() {
    S.pages.intune.installAdmin();
    S.pages.certificates.installAdmin();
  }

  function removeAdminControls() {
    for (const el of document.querySelectorAll('[data-admin]')) {
      if (el.tagName === 'DIALOG' && el.open) el.close();
      el.remove();
    }
  }

  /** Forgets the token and everything shown with it, and shows the sign-in form. */
  function signOut(message) {
    if (currentPage && S.pages[currentPage]) S.pages[currentPage].hide();
    currentPage = null;
    api.clearToken();
    S.session = null;
    removeAdminControls();
    for (const page of Object.values(S.pages)) page.reset();
    fill($('#profile-names'));
    $('#signin').reset();
    showSignIn(message);
  }

  async function loadProfileNames() {
    try {
      const profiles = await api.profiles();
      if (!S.session || !Array.isArray(profiles)) return;
      fill($('#profile-names'), profiles.map((p) => h('option', { value: p.name })));
    } catch (_) {
      // Only suggestions for the profile fields; the pages report their own errors.
    }
  }

  /** Asks the server who the stored token belongs to, then opens the console. */
  async function startSession() {
    let who;
    try {
      who = await api.session();
    } catch (error) {
      const typed = $('#token').value;
      api.clearToken();
      if (error.status === 401) {
        // The field keeps what was typed, so one wrong character can be mended.
        showSignIn(typed.includes(':')
          ? 'That token was not accepted. If you pasted name:token from the configuration, paste only what follows the first colon.'
          : 'That token was not accepted.');
      } else {
        showSignIn(`Could not sign in: ${error.message}`);
      }
      return;
    }
    $('#token').value = '';
    const roles = Array.isArray(who && who.roles) ? who.roles.map(String) : [];
    if (!roles.includes('admin') && !roles.includes('viewer')) {
      api.clearToken();
      showSignIn('That token has neither the admin nor the viewer role.');
      return;
    }
    S.session = { name: String((who && who.name) || 'unknown'), roles, isAdmin: roles.includes('admin') };
    removeAdminControls();
    if (S.session.isAdmin) installAdminControls();
    showApp();
    loadProfileNames();
    route();
  }

  async function submitSignIn(event) {
    event.preventDefault();
    const token = $('#token').value.trim();
    if (!token) {
      showSignIn('Enter a token.');
      return;
    }
    $('#signin-submit').disabled = true;
    const error = $('#signin-error');
    error.hidden = true;
    try {
      api.setToken(token);
    } catch (_) {
      showSignIn('This browser does not allow session storage here, so the console cannot keep the token.');
      return;
    }
    await startSession();
  }

  // ---- Start -----------------------------------------------------------------

  function init() {
    for (const page of Object.values(S.pages)) page.init();

    $('#signin').addEventListener('submit', submitSignIn);
    $('#signout').addEventListener('click', () => signOut(''));
    $('#error-dismiss').addEventListener('click', clearError);
    $('#skip-link').addEventListener('click', (event) => {
      event.preventDefault();
      const heading = document.querySelector('.page:not([hidden]) h1') || $('#main');
      heading.focus();
    });
    window.addEventListener('hashchange', route);

    api.onUnauthorized = () => {
      if (!S.session) return;
      signOut('You were signed out: the server no longer accepts this token (HTTP 401). Sign in again.');
    };

    if (api.token()) startSession();
    else showSignIn('');
  }

  init();
})();
