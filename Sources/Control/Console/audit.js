// Audit log page (#/audit): filters as GET /api/v1/audit takes them, pages by
// cursor, and a CSV export fetched with the bearer header and saved as a Blob.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const {
    h, fill, $, setStatus, showError, clearError, timeEl, localInputToISO, plural, outcomeBadge, table, more, sanList, code,
    download, showListTop,
  } = S.ui;

  const PAGE_SIZE = 100;

  const state = {
    query: null,
    cursors: [],
    nextCursor: '',
    generation: 0,
    searched: false,
  };

  /** The filters of the form, without paging; throws an Error naming a field that is wrong. */
  function formFilters() {
    const filters = {
      profile: $('#audit-profile').value,
      outcome: $('#audit-outcome').value,
      operation: $('#audit-operation').value,
      device: $('#audit-device').value,
      claimSub: $('#audit-claimsub').value,
      transactionID: $('#audit-transaction').value,
      serial: $('#audit-serial').value.replace(/\s+/g, ''),
      since: localInputToISO($('#audit-since'), 'Since'),
      until: localInputToISO($('#audit-until'), 'Until'),
    };
    if (filters.serial && !/^:*([0-9A-Fa-f]:*){1,64}$/.test(filters.serial)) {
      throw new Error('Serial number: hexadecimal digits only (colons allowed), at most 64');
    }
    if (filters.since && filters.until && filters.since >= filters.until) {
      throw new Error('Until must be later than Since');
    }
    return filters;
  }

  function muted(text) {
    return h('span', { class: 'muted' }, text || '\u2014');
  }

  function auditRow(e) {
    const device = e.deviceName || e.claimSubject;
    const extra = [
      ['Event ID', e.id],
      ['Message type', e.messageType],
      ['Source address', e.sourceAddress],
      ['Claim subject', e.claimSubject],
      ['Claim issuer', e.claimIssuer],
      ['CSR subject', e.csrSubject],
      ['CSR SANs', e.csrSANs ? sanList(e.csrSANs) : undefined],
      ['Latency', e.latencyMilliseconds !== undefined ? `${Number(e.latencyMilliseconds).toFixed(3)} ms` : undefined],
    ];
    return h('tr', { testid: 'audit-row' },
      h('td', { class: 'nowrap' }, timeEl(e.time)),
      h('td', null, e.profile || muted()),
      h('td', null, e.operation || muted(), e.messageType ? h('div', { class: 'muted small' }, e.messageType) : null),
      h('td', null, outcomeBadge(e.outcome), e.failInfo ? h('div', { class: 'muted small' }, e.failInfo) : null),
      h('td', null, device || muted()),
      h('td', { class: 'ident' }, e.transactionID ? code(e.transactionID) : muted()),
      h('td', { class: 'ident' }, e.serialNumber
        ? h('a', { href: `#/certificates/${encodeURIComponent(e.serialNumber)}`, title: 'Show this certificate' }, code(e.serialNumber))
        : muted()),
      h('td', null, e.edgeID || muted()),
      h('td', { class: 'details' }, e.details || muted(), more(extra)));
  }

  /** Runs a search; `paged` when a pager button asked for this page. */
  async function run(filters, cursor, paged) {
    const mine = ++state.generation;
    const status = $('#audit-status');
    setStatus(status, 'Searching\u2026');
    $('#audit-search').disabled = true;
    try {
      const answer = await S.api.audit(Object.assign({}, filters, { limit: PAGE_SIZE, cursor: cursor || '' }));
      if (mine !== state.generation) return;
      const items = Array.isArray(answer && answer.items) ? answer.items : [];
      if (!cursor) state.cursors = [''];
      else if (state.cursors[state.cursors.length - 1] !== cursor) state.cursors.push(cursor);
      state.query = filters;
      state.nextCursor = (answer && answer.nextCursor) || '';
      state.searched = true;
      fill($('#audit-results'), table({
        caption: 'Audit events, newest first',
        columns: [{ title: 'Time' }, { title: 'Profile' }, { title: 'Operation' }, { title: 'Outcome' }, { title: 'Device' },
          { title: 'Transaction ID' }, { title: 'Serial' }, { title: 'Edge' }, { title: 'Details' }],
        rows: items.map(auditRow),
        empty: cursor ? 'No more events.' : 'No audit event matches these filters.',
        testid: 'audit-table',
        className: 'audit fit-window',
      }));
      const page = state.cursors.length;
      setStatus(status, items.length
        ? `Page ${page}: ${plural(items.length, 'event', 'events')}${state.nextCursor ? '; more on the next page' : ''}.`
        : '');
      $('#audit-next').hidden = !state.nextCursor;
      $('#audit-first').hidden = page <= 1;
      if (paged) showListTop(status, $('#audit-results'));
      clearError();
    } catch (error) {
      if (mine !== state.generation) return;
      setStatus(status, 'The search failed.', 'error');
      showError(error, 'Audit search');
    } finally {
      if (mine === state.generation) $('#audit-search').disabled = false;
    }
  }

  function submit(event) {
    if (event) event.preventDefault();
    let filters;
    try {
      filters = formFilters();
    } catch (error) {
      setStatus($('#audit-status'), error.message, 'error');
      return;
    }
    run(filters, '');
  }

  async function exportCSV() {
    const status = $('#audit-status');
    let filters;
    try {
      filters = formFilters();
    } catch (error) {
      setStatus(status, error.message, 'error');
      return;
    }
    const button = $('#audit-export');
    button.disabled = true;
    setStatus(status, 'Exporting every event that matches the filters\u2026');
    try {
      const blob = await S.api.auditCSV(filters);
      download(blob, 'audit.csv');
      const kib = Math.max(1, Math.round(blob.size / 1024));
      setStatus(status, `Saved audit.csv (${kib} KiB). Cells that begin with = + - @ carry a leading apostrophe.`, 'ok');
      clearError();
    } catch (error) {
      setStatus(status, 'The export failed; no file was saved.', 'error');
      showError(error, 'Audit export');
    } finally {
      button.disabled = false;
    }
  }

  /** Fills the form from route parameters (#/audit?transactionID=…). */
  function applyParams(params) {
    $('#audit-form').reset();
    const names = { profile: '#audit-profile', outcome: '#audit-outcome', operation: '#audit-operation', device: '#audit-device',
      claimSub: '#audit-claimsub', transactionID: '#audit-transaction', serial: '#audit-serial' };
    for (const [name, selector] of Object.entries(names)) {
      const value = params.get(name);
      if (value !== null) $(selector).value = value;
    }
  }

  S.pages = S.pages || {};
  S.pages.audit = {
    init() {
      fill($('#audit-outcome'), h('option', { value: '' }, 'Any outcome'),
        S.labels.OUTCOMES.map((o) => h('option', { value: o.label }, o.label)));
      fill($('#audit-operation'), h('option', { value: '' }, 'Any operation'),
        S.labels.OPERATIONS.map((op) => h('option', { value: op }, op)));
      $('#audit-form').addEventListener('submit', submit);
      $('#audit-export').addEventListener('click', exportCSV);
      $('#audit-next').addEventListener('click', () => { if (state.nextCursor) run(state.query, state.nextCursor, true); });
      $('#audit-first').addEventListener('click', () => { if (state.query) run(state.query, '', true); });
    },
    show(params) {
      if (params && [...params.keys()].length) {
        applyParams(params);
        submit();
      } else if (!state.searched) {
        submit();
      }
    },
    hide() { state.generation++; $('#audit-search').disabled = false; },
    reset() {
      this.hide();
      Object.assign(state, { query: null, cursors: [], nextCursor: '', searched: false });
      $('#audit-form').reset();
      fill($('#audit-results'));
      setStatus($('#audit-status'), '');
      $('#audit-next').hidden = true;
      $('#audit-first').hidden = true;
    },
  };
})();
