// Certificates: the search page (#/certificates), the detail page
// (#/certificates/<serial>), and for admins the revoke dialog and bulk revocation.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const {
    h, fill, $, setStatus, showError, clearError, errorLine, formatTime, timeEl, toISO, localInputToISO, plural,
    badge, stateBadge, outcomeBadge, table, dl, code, download, openDialog, showListTop, cloneTemplate,
  } = S.ui;

  const PAGE_SIZE = 50;
  const DAY_MS = 86400000;

  // ---- Search --------------------------------------------------------------

  const search = {
    query: null, // the filters of the results shown (without cursor)
    cursors: [], // cursor of each page shown so far ('' for the first)
    nextCursor: '',
    generation: 0,
    searched: false,
  };

  /** The API query for the search form; throws an Error naming a field that is wrong. */
  function formQuery() {
    const query = {
      q: $('#cert-q').value,
      device: $('#cert-device').value,
      serial: $('#cert-serial').value.replace(/\s+/g, ''),
      profile: $('#cert-profile').value,
      state: $('#cert-state').value,
      sort: $('#cert-sort').value === 'notAfter' ? 'notAfter' : '',
      limit: PAGE_SIZE,
    };
    const daysText = $('#cert-expiring-days').value.trim();
    if (daysText !== '' || ($('#cert-expiring-days').validity && $('#cert-expiring-days').validity.badInput)) {
      const days = Number(daysText);
      if (!/^\d+$/.test(daysText) || days < 1 || days > 36500) {
        throw new Error('Expiring within: give a whole number of days from 1 to 36500');
      }
      query.expiringBefore = toISO(new Date(Date.now() + days * DAY_MS));
    }
    if (query.serial && !/^:*([0-9A-Fa-f]:*){1,64}$/.test(query.serial)) {
      throw new Error('Serial number: hexadecimal digits only (colons allowed), at most 64');
    }
    return query;
  }

  function certRow(c) {
    const href = `#/certificates/${encodeURIComponent(c.serial)}`;
    return h('tr', { testid: `cert-row-${c.serial}` },
      h('td', null, h('a', { href, class: 'serial', title: 'Show this certificate' }, code(c.serial))),
      h('td', null, c.subject || h('span', { class: 'muted' }, '(no subject)'),
        c.subjectAlternativeNames ? h('div', { class: 'muted small' }, c.subjectAlternativeNames) : null),
      h('td', null, c.profile),
      h('td', null, stateBadge(c.state)),
      h('td', { class: 'nowrap' }, timeEl(c.notAfter)),
      h('td', { class: 'nowrap' }, timeEl(c.issuedAt)));
  }

  /** Runs a search; `paged` when a pager button asked for this page. */
  async function runSearch(query, cursor, paged) {
    const mine = ++search.generation;
    const status = $('#cert-status');
    setStatus(status, 'Searching\u2026');
    $('#cert-search').disabled = true;
    try {
      const answer = await S.api.certificates(Object.assign({}, query, { cursor: cursor || '' }));
      if (mine !== search.generation) return;
      const items = Array.isArray(answer && answer.items) ? answer.items : [];
      if (!cursor) search.cursors = [''];
      else if (search.cursors[search.cursors.length - 1] !== cursor) search.cursors.push(cursor);
      search.query = query;
      search.nextCursor = (answer && answer.nextCursor) || '';
      search.searched = true;
      fill($('#cert-results'), table({
        caption: 'Certificates found',
        columns: [{ title: 'Serial' }, { title: 'Subject' }, { title: 'Profile' }, { title: 'State' }, { title: 'Not after' }, { title: 'Issued at' }],
        rows: items.map(certRow),
        empty: cursor ? 'No more certificates.' : 'No certificate matches these filters.',
        testid: 'cert-table',
      }));
      const page = search.cursors.length;
      setStatus(status, items.length
        ? `Page ${page}: ${plural(items.length, 'certificate', 'certificates')}${search.nextCursor ? '; more on the next page' : ''}.`
        : '');
      $('#cert-next').hidden = !search.nextCursor;
      $('#cert-first').hidden = page <= 1;
      if (paged) showListTop(status, $('#cert-results'));
      clearError();
    } catch (error) {
      if (mine !== search.generation) return;
      setStatus(status, 'The search failed.', 'error');
      showError(error, 'Certificate search');
    } finally {
      if (mine === search.generation) $('#cert-search').disabled = false;
    }
  }

  function submitSearch(event) {
    if (event) event.preventDefault();
    let query;
    try {
      query = formQuery();
    } catch (error) {
      setStatus($('#cert-status'), error.message, 'error');
      return;
    }
    runSearch(query, '');
  }

  /** Fills the search form from route parameters (#/certificates?state=active&expiring=30&sort=notAfter). */
  function applyParams(params) {
    $('#cert-form').reset();
    const set = (sel, v) => { if (v !== null && v !== undefined) $(sel).value = v; };
    set('#cert-q', params.get('q'));
    set('#cert-device', params.get('device'));
    set('#cert-serial', params.get('serial'));
    set('#cert-profile', params.get('profile'));
    if (['active', 'expired', 'revoked', 'superseded'].includes(params.get('state'))) set('#cert-state', params.get('state'));
    set('#cert-expiring-days', params.get('expiring'));
    if (params.get('sort') === 'notAfter') set('#cert-sort', 'notAfter');
  }

  // ---- Detail --------------------------------------------------------------

  const detail = { serial: '', data: null, generation: 0 };

  function normalizeSerial(text) {
    return String(text || '').replace(/:/g, '');
  }

  function revocationView(r) {
    const reason = S.labels.reason(r.reason);
    return h('section', { class: 'panel panel-bad', 'aria-labelledby': 'revocation-title' },
      h('h2', { id: 'revocation-title' }, 'Revocation'),
      dl([
        ['Revoked at', timeEl(r.revokedAt)],
        ['Reason', h('span', { testid: 'revocation-reason' }, r.reason, reason ? h('span', { class: 'muted' }, ` (CRLReason ${reason.code})`) : null)],
        ['By', r.actor],
        ['Invalidity date', r.invalidityDate ? timeEl(r.invalidityDate) : undefined],
      ]));
  }

  function enrollmentView(e) {
    if (!e) return h('p', { class: 'empty' }, 'No enrollment record for the transaction that produced it.');
    const info = S.labels.outcome(e.outcome);
    return dl([
      ['Transaction ID', code(e.transactionID)],
      ['Message type', e.messageType],
      ['Status', e.status],
      ['Outcome', h('span', null, outcomeBadge(e.outcome), ' ', h('span', { class: 'muted' }, info.meaning))],
      ['Reason', e.reason || null],
      ['Recorded at', timeEl(e.createdAt)],
    ]);
  }

  function auditTrailView(events) {
    const rows = (events || []).map((e) => h('tr', { testid: 'cert-audit-row' },
      h('td', { class: 'nowrap' }, timeEl(e.time)),
      h('td', null, e.operation, e.messageType ? h('div', { class: 'muted small' }, e.messageType) : null),
      h('td', null, outcomeBadge(e.outcome), e.failInfo ? h('div', { class: 'muted small' }, e.failInfo) : null),
      h('td', null, e.edgeID || '\u2014', e.sourceAddress ? h('div', { class: 'muted small' }, e.sourceAddress) : null),
      h('td', { class: 'details' }, e.details || h('span', { class: 'muted' }, '\u2014'))));
    return table({
      caption: 'Audit trail, oldest first',
      columns: [{ title: 'Time' }, { title: 'Operation' }, { title: 'Outcome' }, { title: 'Edge' }, { title: 'Details' }],
      rows,
      empty: 'No audit events name this certificate or its transaction.',
    });
  }

  function pemBlock(pem, label) {
    return h('pre', { class: 'pem', tabindex: '0', 'aria-label': label }, pem || '');
  }

  function renderDetail(data) {
    const c = (data && data.certificate) || {};
    const serial = c.serial || detail.serial;
    const daysLeft = c.notAfter ? Math.floor((new Date(c.notAfter).getTime() - Date.now()) / DAY_MS) : NaN;
    // A revoked or superseded certificate has no validity left to count.
    const validity = Number.isNaN(daysLeft) || c.state === 'revoked' || c.state === 'superseded' ? null
      : daysLeft >= 0 ? h('span', { class: 'muted' }, ` (${plural(daysLeft, 'day', 'days')} left)`)
        : h('span', { class: 'muted' }, ' (passed)');

    const actions = h('div', { class: 'page-actions' });
    if (S.session.isAdmin && c.state !== 'revoked') {
      const button = cloneTemplate('tpl-revoke-button');
      button.addEventListener('click', () => openRevoke(button));
      actions.appendChild(button);
    }

    const chain = Array.isArray(data.chain) ? data.chain : [];
    const chainView = chain.length
      ? h('ol', { class: 'chain' }, chain.map((pem, i) => h('li', null,
        h('details', null,
          h('summary', null, i === 0 ? 'Issuing CA' : `CA certificate ${i + 1}`),
          pemBlock(pem, `Chain certificate ${i + 1}, PEM`)))))
      : h('p', { class: 'empty' }, 'No chain: the control plane no longer has this profile.');

    fill($('#cert-detail'),
      h('div', { class: 'page-head' },
        h('div', null,
          h('h1', { tabindex: '-1', id: 'cert-detail-title' }, 'Certificate ', code(serial)),
          h('p', { class: 'subtitle' }, c.subject || '(no subject)')),
        actions),
      c.state === 'revoked' && S.session.isAdmin ? h('p', { class: 'note' }, 'This certificate is revoked; a revocation cannot be undone.') : null,
      h('section', { class: 'panel', 'aria-labelledby': 'cert-fields-title' },
        h('h2', { id: 'cert-fields-title' }, 'Certificate'),
        dl([
          ['Serial', code(serial)],
          ['State', stateBadge(c.state, { id: 'cert-state-value' })],
          ['Subject', c.subject || null],
          ['Subject alternative names', c.subjectAlternativeNames || null],
          ['Profile', c.profile],
          ['Issuer', c.issuer],
          ['Not before', timeEl(c.notBefore)],
          ['Not after', h('span', null, timeEl(c.notAfter), validity)],
          ['Issued at', timeEl(c.issuedAt)],
          ['Transaction ID', c.transactionID
            ? h('a', { href: `#/audit?transactionID=${encodeURIComponent(c.transactionID)}`, title: 'Audit events of this transaction' }, code(c.transactionID))
            : null],
          ['Device ID (claim subject)', c.deviceID ? code(c.deviceID) : undefined],
        ])),
      c.revocation ? revocationView(c.revocation) : null,
      h('section', { class: 'panel', 'aria-labelledby': 'cert-pem-title' },
        h('div', { class: 'section-head' },
          h('h2', { id: 'cert-pem-title' }, 'PEM'),
          h('button', { type: 'button', id: 'download-pem', class: 'secondary', onclick: () => downloadPEM(serial, data.pem) }, 'Download PEM')),
        pemBlock(data.pem, 'Certificate, PEM')),
      h('section', { class: 'panel', 'aria-labelledby': 'cert-chain-title' },
        h('h2', { id: 'cert-chain-title' }, 'Chain'),
        h('p', { class: 'note' }, 'The issuing CA and the certificates above it, nearest first, as the issuer is configured now.'),
        chainView),
      h('section', { class: 'panel', 'aria-labelledby': 'cert-enrollment-title' },
        h('h2', { id: 'cert-enrollment-title' }, 'Enrollment'),
        enrollmentView(data.enrollment)),
      h('section', { class: 'panel', 'aria-labelledby': 'cert-audit-title' },
        h('h2', { id: 'cert-audit-title' }, 'Audit trail'),
        auditTrailView(data.audit)));
  }

  function downloadPEM(serial, pem) {
    let text = String(pem || '');
    if (text && !text.endsWith('\n')) text += '\n';
    download(new Blob([text], { type: 'application/x-pem-file' }), `${serial}.pem`);
  }

  async function loadDetail(serialText, quiet) {
    const serial = normalizeSerial(serialText);
    const mine = ++detail.generation;
    const status = $('#cert-detail-status');
    if (!/^[0-9A-Fa-f]{1,64}$/.test(serial)) {
      fill($('#cert-detail'));
      setStatus(status, `\u201c${serialText}\u201d is not a serial number: hexadecimal digits only, at most 64.`, 'error');
      return;
    }
    if (!quiet || detail.serial !== serial) fill($('#cert-detail'));
    detail.serial = serial;
    setStatus(status, 'Loading the certificate\u2026');
    try {
      const data = await S.api.certificate(serial);
      if (mine !== detail.generation) return;
      detail.data = data || {};
      renderDetail(detail.data);
      setStatus(status, '');
      if (!quiet) {
        const title = $('#cert-detail-title');
        if (title) title.focus();
      }
    } catch (error) {
      if (mine !== detail.generation) return;
      if (error.status === 404) {
        // The status line says all there is; the banner would say it again.
        setStatus(status, `No certificate with serial ${serial} in the inventory.`, 'error');
        return;
      }
      setStatus(status, 'The certificate could not be loaded.', 'error');
      showError(error, 'Certificate');
    }
  }

  // ---- Revoke one (admin) --------------------------------------------------

  function updateReasonHint() {
    const reason = S.labels.reason($('#revoke-reason').value);
    $('#revoke-reason-hint').textContent = reason ? `CRLReason ${reason.code}: ${reason.use}` : '';
  }

  function openRevoke(opener) {
    const c = (detail.data && detail.data.certificate) || {};
    $('#revoke-serial').textContent = c.serial || detail.serial;
    $('#revoke-subject').textContent = c.subject || '';
    $('#revoke-form').reset();
    $('#revoke-reason').value = 'unspecified';
    updateReasonHint();
    fill($('#revoke-result'));
    $('#revoke-confirm').hidden = false;
    $('#revoke-confirm').disabled = false;
    $('#revoke-cancel').textContent = 'Cancel';
    openDialog($('#revoke-dialog'), $('#revoke-reason'), opener);
  }

  async function submitRevoke(event) {
    event.preventDefault();
    const result = $('#revoke-result');
    const confirm = $('#revoke-confirm');
    if (confirm.hidden || confirm.disabled) return;
    const serial = $('#revoke-serial').textContent;
    const body = { reason: $('#revoke-reason').value || 'unspecified' };
    try {
      const invalidity = localInputToISO($('#revoke-invalidity'), 'Invalidity date');
      if (invalidity) {
        if (new Date(invalidity).getTime() > Date.now()) throw new Error('Invalidity date: it cannot be in the future');
        body.invalidityDate = invalidity;
      }
    } catch (error) {
      fill(result, errorLine(error));
      $('#revoke-invalidity').focus();
      return;
    }
    confirm.disabled = true;
    fill(result, h('p', { class: 'status' }, 'Revoking\u2026'));
    try {
      const answer = await S.api.revoke(serial, body);
      if (!result.isConnected) return;
      const c = (answer && answer.certificate) || {};
      const r = c.revocation || {};
      const when = `${formatTime(r.revokedAt)}, reason ${r.reason || body.reason}, by ${r.actor || 'unknown'}`;
      fill(result, answer && answer.alreadyRevoked
        ? h('p', { class: 'callout callout-warn', testid: 'revoke-outcome' }, `It was already revoked (${when}); nothing changed.`)
        : h('p', { class: 'callout callout-ok', testid: 'revoke-outcome' },
          `Revoked: ${when}. OCSP answers \u201crevoked\u201d from now on; the CRL lists it at its next request.`));
      confirm.hidden = true;
      $('#revoke-cancel').textContent = 'Close';
      $('#revoke-cancel').focus();
      if (normalizeSerial(detail.serial).toLowerCase() === serial.toLowerCase()) loadDetail(detail.serial, true);
    } catch (error) {
      if (!result.isConnected) return;
      if (outcomeUnknown(error)) {
        // The request may have reached the server and the certificate be revoked: say so, and show its state now.
        fill(result, errorLine(error, 'Outcome unknown'),
          h('p', { class: 'note', testid: 'revoke-unknown' },
            'The server may have revoked it. The page shows the certificate as it is now; revoking again is safe (the answer is “already revoked”).'));
        if (normalizeSerial(detail.serial).toLowerCase() === serial.toLowerCase()) loadDetail(detail.serial, true);
      } else {
        fill(result, errorLine(error, 'Not revoked'));
      }
      confirm.disabled = false;
    }
  }

  /**
   * Whether a request that failed may still have been carried out: no answer, an answer cut off or
   * unreadable, or a server error (a revocation is committed before its answer is built).
   */
  function outcomeUnknown(error) {
    return ['timeout', 'network', 'cut', 'bad_answer'].includes(error.code) || error.status >= 500;
  }

  // ---- Bulk revocation (admin) ---------------------------------------------

  let bulkPending = null; // the body of the last dry run, sent again (dryRun false) on confirm

  function bulkBody() {
    const selector = {};
    const text = (sel) => $(sel).value.trim();
    if (text('#bulk-profile')) selector.profile = text('#bulk-profile');
    if (text('#bulk-device')) selector.device = text('#bulk-device');
    if (text('#bulk-claimsub')) selector.claimSub = text('#bulk-claimsub');
    const before = localInputToISO($('#bulk-issued-before'), 'Issued before');
    if (!Object.keys(selector).length && !before) {
      throw new Error('Name a profile, a device, a claim subject or an issued-before time: an empty selector would revoke everything');
    }
    let pinned = false;
    if (before) selector.issuedBefore = before;
    else {
      selector.issuedBefore = toISO(new Date());
      pinned = true;
    }
    return { body: { selector, reason: $('#bulk-reason').value || 'unspecified' }, pinned };
  }

  function countsText(a, dry) {
    const matched = Number(a.matched) || 0;
    const revoked = Number(a.revoked) || 0;
    const skipped = Number(a.skipped) || 0;
    const match = matched === 1 ? '1 certificate matches' : `${matched} certificates match`;
    return dry
      ? `${match}, ${revoked} would be revoked, ${skipped} already revoked.`
      : `${match}: ${revoked} revoked now, ${skipped} were already revoked.`;
  }

  function selectorText(selector) {
    return Object.entries(selector).map(([k, v]) => `${k} = ${k === 'issuedBefore' ? formatTime(v) : v}`).join(', ');
  }

  async function bulkDryRun(event) {
    event.preventDefault();
    const result = $('#bulk-result');
    const confirm = $('#bulk-confirm');
    confirm.hidden = true;
    bulkPending = null;
    let prepared;
    try {
      prepared = bulkBody();
    } catch (error) {
      fill(result, errorLine(error));
      return;
    }
    const button = $('#bulk-dry-run');
    button.disabled = true;
    fill(result, h('p', { class: 'status' }, 'Counting\u2026'));
    try {
      const answer = await S.api.bulkRevoke(Object.assign({}, prepared.body, { dryRun: true }));
      if (!result.isConnected) return;
      const wouldRevoke = Number(answer && answer.revoked) || 0;
      fill(result,
        h('p', { class: 'callout callout-warn', testid: 'bulk-dry-run-result' }, 'Dry run: ', countsText(answer || {}, true)),
        h('p', { class: 'note' }, `Selector: ${selectorText(prepared.body.selector)}; reason ${prepared.body.reason}.`,
          prepared.pinned ? ' Issued-before is the time of this dry run, so the real run takes in no newer certificate.' : ''),
        h('p', { class: 'note' }, 'Device matches part of the subject: check the count before you confirm.'));
      if (wouldRevoke > 0) {
        bulkPending = prepared.body;
        confirm.textContent = `Revoke ${plural(wouldRevoke, 'certificate', 'certificates')}`;
        confirm.disabled = false;
        confirm.hidden = false;
      }
    } catch (error) {
      if (!result.isConnected) return;
      fill(result, errorLine(error, 'Dry run failed'));
    } finally {
      button.disabled = false;
    }
  }

  async function bulkConfirm() {
    if (!bulkPending) return;
    const result = $('#bulk-result');
    const confirm = $('#bulk-confirm');
    confirm.disabled = true;
    const body = Object.assign({}, bulkPending, { dryRun: false });
    result.appendChild(h('p', { class: 'status', testid: 'bulk-progress' }, 'Revoking\u2026 each certificate is revoked and audited in turn.'));
    try {
      const answer = await S.api.bulkRevoke(body);
      if (!result.isConnected) return;
      bulkPending = null;
      confirm.hidden = true;
      fill(result, h('p', { class: 'callout callout-ok', testid: 'bulk-done' }, 'Done. ', countsText(answer || {}, false)));
      if (search.searched) runSearch(search.query, search.cursors[search.cursors.length - 1] || '');
    } catch (error) {
      if (!result.isConnected) return;
      const progress = result.querySelector('[data-testid=bulk-progress]');
      if (progress) progress.remove();
      result.appendChild(errorLine(error, 'The bulk revocation did not finish'));
      if (outcomeUnknown(error)) {
        result.appendChild(h('p', { class: 'note' }, 'What was revoked stays revoked. Send it again: the rest are revoked and the first ones counted as already revoked.'));
      }
      confirm.disabled = false;
    }
  }

  function invalidateBulk() {
    if (!bulkPending && $('#bulk-confirm').hidden) return;
    bulkPending = null;
    $('#bulk-confirm').hidden = true;
    fill($('#bulk-result'), h('p', { class: 'note' }, 'The selector changed: run the dry run again.'));
  }

  function reasonOptions(select) {
    fill(select, S.labels.REASONS.map((r) => h('option', { value: r.name }, `${r.name} (${r.code})`)));
    select.value = 'unspecified';
  }

  // ---- Pages ---------------------------------------------------------------

  S.pages = S.pages || {};

  S.pages.certificates = {
    init() {
      $('#cert-form').addEventListener('submit', submitSearch);
      $('#cert-next').addEventListener('click', () => { if (search.nextCursor) runSearch(search.query, search.nextCursor, true); });
      $('#cert-first').addEventListener('click', () => { if (search.query) runSearch(search.query, '', true); });
    },
    /** Adds the bulk revocation panel and the revoke dialog (admin tokens only). */
    installAdmin() {
      const bulk = cloneTemplate('tpl-bulk');
      $('#bulk-slot').appendChild(bulk);
      reasonOptions($('#bulk-reason'));
      $('#bulk-form').addEventListener('submit', bulkDryRun);
      $('#bulk-form').addEventListener('input', invalidateBulk);
      $('#bulk-form').addEventListener('change', invalidateBulk);
      $('#bulk-confirm').addEventListener('click', bulkConfirm);

      const dialog = cloneTemplate('tpl-revoke-dialog');
      document.body.appendChild(dialog);
      reasonOptions($('#revoke-reason'));
      $('#revoke-reason').addEventListener('change', updateReasonHint);
      $('#revoke-form').addEventListener('submit', submitRevoke);
      $('#revoke-cancel').addEventListener('click', () => dialog.close());
    },
    show(params) {
      if (params && [...params.keys()].length) {
        applyParams(params);
        submitSearch();
      } else if (!search.searched) {
        submitSearch();
      } else {
        // Back from a detail page: states may have changed there (a revocation), so the shown page is fetched again.
        runSearch(search.query, search.cursors[search.cursors.length - 1] || '');
      }
    },
    hide() { search.generation++; $('#cert-search').disabled = false; },
    reset() {
      this.hide();
      Object.assign(search, { query: null, cursors: [], nextCursor: '', searched: false });
      bulkPending = null;
      $('#cert-form').reset();
      fill($('#cert-results'));
      setStatus($('#cert-status'), '');
      $('#cert-next').hidden = true;
      $('#cert-first').hidden = true;
    },
  };

  S.pages.certificate = {
    init() {},
    show(params, serial) { loadDetail(serial, false); },
    hide() { detail.generation++; },
    reset() {
      detail.generation++;
      Object.assign(detail, { serial: '', data: null });
      fill($('#cert-detail'));
      setStatus($('#cert-detail-status'), '');
    },
  };
})();
