// The admin API client: the bearer token, requests, and errors in words.
//
// The token lives in sessionStorage only (gone when the tab closes) and is
// sent as `Authorization: Bearer …` on every request, never in a URL.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});

  const TOKEN_KEY = 'scepter.console.token';
  const DEFAULT_TIMEOUT_MS = 30000;

  /** An API failure; `message` is what the console shows. */
  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.name = 'ApiError';
      this.status = status; // HTTP status, 0 when there was no answer
      this.code = code || '';
    }
  }

  function readToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { return ''; }
  }

  /**
   * Builds `path?name=value…` from the non-empty values of `query`.
   * Values are percent-encoded by hand: the server does not read `+` as a space.
   */
  function buildURL(path, query) {
    const parts = [];
    for (const [name, value] of Object.entries(query || {})) {
      if (value === undefined || value === null) continue;
      const text = String(value).trim();
      if (text === '') continue;
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(text)}`);
    }
    return parts.length ? `${path}?${parts.join('&')}` : path;
  }

  /** The ApiError for a non-2xx answer: the JSON body's error.message, or the status in words. */
  async function errorFrom(response) {
    let message = '';
    let code = '';
    try {
      const body = JSON.parse(await response.text());
      if (body && body.error && typeof body.error.message === 'string' && body.error.message.trim()) {
        message = body.error.message;
        code = typeof body.error.code === 'string' ? body.error.code : '';
      }
    } catch (_) {
      // Not JSON (a proxy's page, an empty 404): fall back to the status.
    }
    if (!message) message = `The server did not answer (HTTP ${response.status})`;
    return new ApiError(message, response.status, code);
  }

  /**
   * Sends one request.
   * options: query (object), body (JSON-encoded), accept, timeout (ms),
   * blob (answer a Blob instead of parsed JSON), noAuthRedirect (a 401 does not sign out).
   */
  async function request(method, path, options) {
    const opts = options || {};
    const headers = {
      Authorization: `Bearer ${readToken()}`,
      Accept: opts.accept || 'application/json',
    };
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const timeout = opts.timeout || DEFAULT_TIMEOUT_MS;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    try {
      let response;
      try {
        response = await fetch(buildURL(path, opts.query), {
          method, headers, body,
          signal: controller.signal,
          cache: 'no-store',
          credentials: 'same-origin',
        });
      } catch (error) {
        if (error && error.name === 'AbortError') {
          throw new ApiError(`The server did not answer within ${Math.round(timeout / 1000)} seconds`, 0, 'timeout');
        }
        throw new ApiError('The server could not be reached (network error); check the connection and that Scepter is running', 0, 'network');
      }
      if (!response.ok) {
        const error = await errorFrom(response);
        if (response.status === 401 && !opts.noAuthRedirect && typeof api.onUnauthorized === 'function') {
          api.onUnauthorized(error);
        }
        throw error;
      }
      try {
        if (opts.blob) return await response.blob();
        const text = await response.text();
        if (!text) return null;
        return JSON.parse(text);
      } catch (error) {
        if (error && error.name === 'AbortError') {
          throw new ApiError(`The answer did not arrive within ${Math.round(timeout / 1000)} seconds`, response.status, 'timeout');
        }
        if (error instanceof SyntaxError) {
          throw new ApiError(`The server's answer is not JSON (HTTP ${response.status})`, response.status, 'bad_answer');
        }
        throw new ApiError('The answer was cut off before its end (the connection closed); try again', response.status, 'cut');
      }
    } finally {
      clearTimeout(timer);
    }
  }

  const api = {
    ApiError,
    buildURL,
    /** Called with the ApiError when any request (except those with noAuthRedirect) gets a 401. */
    onUnauthorized: null,
    token: readToken,
    setToken(token) { sessionStorage.setItem(TOKEN_KEY, token); },
    clearToken() { try { sessionStorage.removeItem(TOKEN_KEY); } catch (_) { /* storage disabled */ } },
    get(path, options) { return request('GET', path, options); },
    post(path, body, options) { return request('POST', path, Object.assign({}, options, { body })); },

    // The endpoints the console uses.
    session() { return request('GET', '/api/v1/session', { noAuthRedirect: true }); },
    overview() { return request('GET', '/api/v1/overview'); },
    profiles() { return request('GET', '/api/v1/profiles'); },
    intuneStats() { return request('GET', '/api/v1/admin/scep/intune/stats'); },
    // The control plane waits up to 10 s for the edges.
    reloadTrust() { return request('POST', '/api/v1/admin/scep/intune/reload-trust', { timeout: 45000 }); },
    certificates(query) { return request('GET', '/api/v1/certificates', { query }); },
    certificate(serial) { return request('GET', `/api/v1/certificates/${serial}`); },
    revoke(serial, body) { return request('POST', `/api/v1/certificates/${serial}/revoke`, { body }); },
    bulkRevoke(body) { return request('POST', '/api/v1/certificates/revoke', { body, timeout: 600000 }); },
    audit(query) { return request('GET', '/api/v1/audit', { query }); },
    auditCSV(query) { return request('GET', '/api/v1/audit', { query, accept: 'text/csv', blob: true, timeout: 600000 }); },
  };

  S.api = api;
})();
