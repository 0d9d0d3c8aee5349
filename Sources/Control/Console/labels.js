// Outcome labels, audit operations and revocation reasons, as the console explains them.
//
// The outcome list follows Sources/Protocol/Outcome/Outcome.swift (same order);
// meanings and hints are condensed from docs/intune.md §7 and docs/scep.md
// "Outcome labels". A label the server adds later still shows, as "unknown label".
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});

  /** @type {{label: string, status: string, meaning: string, hint: string}[]} */
  const OUTCOMES = [
    {
      label: 'success', status: 'SUCCESS',
      meaning: 'Certificate issued (or a retransmission, CertPoll or GetCert returned it).',
      hint: 'Nothing to do.',
    },
    {
      label: 'pending', status: 'PENDING',
      meaning: 'Accepted, not yet issued.',
      hint: 'Nothing: the device polls again. Many of them in a cluster: the control plane or its database is slow.',
    },
    {
      label: 'malformed', status: 'badRequest',
      meaning: 'The challenge has the Intune shape but is not a well-formed JWS or v1 claim set, or the request is not a SCEP message.',
      hint: 'Details say which part. Proxies or WAFs that rewrite requests; health checks that POST to the SCEP URL.',
    },
    {
      label: 'signature_invalid', status: 'badMessageCheck',
      meaning: 'No trust anchor verifies the challenge (or alg none/HS*, a crit header, a key type no anchor has).',
      hint: 'Connector certificate renewed or reinstalled, or one Connector of an HA group missing from the bundle: compare fingerprints, update the bundle, then reload the trust anchors.',
    },
    {
      label: 'unknown_version', status: 'badRequest',
      meaning: 'The challenge carries a version other than v1.',
      hint: 'A new Connector release? Keep a sample with personal data removed and report it.',
    },
    {
      label: 'expired', status: 'badTime',
      meaning: 'The challenge is past exp by more than the skew, or its lifetime is above INTUNE_CHALLENGE_VALIDITY.',
      hint: 'Details tell the two apart: NTP on the Connector and Scepter hosts and slow devices, or raise the cap to what the Connector mints.',
    },
    {
      label: 'not_yet_valid', status: 'badTime',
      meaning: 'The challenge\u2019s iat is ahead of Scepter\u2019s clock by more than INTUNE_CLOCK_SKEW.',
      hint: 'Scepter\u2019s clock is behind: check NTP.',
    },
    {
      label: 'wrong_audience', status: 'badRequest',
      meaning: 'INTUNE_AUDIENCE is set and the challenge\u2019s aud is missing or different.',
      hint: 'Details quote both values. Fix INTUNE_AUDIENCE (restart) or unset it.',
    },
    {
      label: 'claim_mismatch', status: 'badRequest',
      meaning: 'The CSR\u2019s CN or SANs differ from the challenge\u2019s claims.',
      hint: 'Compare the Intune profile\u2019s subject name format and SAN settings with the CSR subject and SANs; details list each difference.',
    },
    {
      label: 'replay', status: 'badRequest',
      meaning: 'The challenge was already admitted for another transaction.',
      hint: 'Usually a device retrying with a new key after a refusal. Many replays, or from unexpected addresses, suggest a leaked challenge.',
    },
    {
      label: 'rate_limited', status: 'badRequest',
      meaning: 'The device was already admitted INTUNE_RATE_LIMIT times in the last 24 hours.',
      hint: 'Is the device looping (wipes, a broken profile)? Raise the limit if the re-provisioning is legitimate.',
    },
    {
      label: 'compliance_failed', status: 'badRequest',
      meaning: 'The compliance webhook said not compliant, failed or timed out (it fails closed); intune-api: Intune\u2019s NotCompliant.',
      hint: 'Details, the webhook\u2019s own logs, the device\u2019s compliance state in Intune.',
    },
    {
      label: 'intune_rejected', status: 'badRequest',
      meaning: 'Intune\u2019s validateRequest refused (profile no longer targeted, device not found, another code) or gave no verdict.',
      hint: 'Microsoft\u2019s code in details. \u201cGave no verdict\u201d: an outbound proxy answering in Microsoft\u2019s place. Give the client-request-id to Microsoft support.',
    },
    {
      label: 'notification_failed', status: 'badRequest',
      meaning: 'Intune accepted, but its successNotification failed: the certificate was revoked and never delivered.',
      hint: 'The client-request-ids in details; Microsoft\u2019s service health. The device must enroll again.',
    },
    {
      label: 'challenge_invalid', status: 'badRequest',
      meaning: 'Not an Intune challenge, and the static password is missing or wrong (or the profile has none).',
      hint: 'Does the profile have the INTUNE_MODE your tenant uses? Does something truncate the challenge? Details say which case.',
    },
    {
      label: 'bad_message_check', status: 'badMessageCheck',
      meaning: 'The SCEP message did not verify or decrypt; most often it is encrypted to another RA certificate (e.g. NDES\u2019s).',
      hint: 'Make the device fetch GetCACert from Scepter\u2019s URL; check the profile\u2019s RA_CERT_PATH.',
    },
    {
      label: 'unsupported_algorithm', status: 'badAlg',
      meaning: 'The digest, content cipher or key transport is not supported.',
      hint: 'Details name the algorithm. Configure the client for AES and SHA-256.',
    },
    {
      label: 'policy_violation', status: 'badRequest',
      meaning: 'The CSR breaks the certificate policy: key size or type, an EKU, no subject or SAN, a reused transactionID.',
      hint: 'Details name the rule. Align the Intune profile\u2019s key size and EKUs with the Scepter profile.',
    },
    {
      label: 'renewal_invalid', status: 'badMessageCheck',
      meaning: 'The RenewalReq signer is not a valid, active certificate of this profile, or the CSR changes the identity.',
      hint: 'An expired, superseded or revoked certificate cannot renew: the device enrolls again with a challenge. Wrong profile?',
    },
    {
      label: 'unknown_transaction', status: 'badCertId',
      meaning: 'A CertPoll or GetCert for a transaction or serial this profile does not know.',
      hint: 'Does the device poll the profile it enrolled with? Find the first request by its transaction ID.',
    },
    {
      label: 'issuer_error', status: 'badRequest',
      meaning: 'The CA failed to sign, or its certificate has expired.',
      hint: 'The CA certificate\u2019s validity and key. The device\u2019s retry is evaluated again.',
    },
    {
      label: 'unavailable', status: 'HTTP 503',
      meaning: 'The database, issuer, Redis, control plane or Microsoft could not be reached; no CertRep.',
      hint: 'Details and the log; the edges\u2019 /readyz. intune-api: the reason in details (docs/intune.md \u00a77.3). Devices retry on their own.',
    },
  ];

  const byLabel = new Map(OUTCOMES.map((o) => [o.label, o]));

  /** Audit operations the audit log records (GetCACaps and friends are accepted but never recorded). */
  const OPERATIONS = ['PKIOperation', 'revoke', 'intune-revocation', 'reload-trust'];

  /** RFC 5280 CRLReason names the revoke endpoints accept, with their use (docs/admin-api.md §6.1). */
  const REASONS = [
    { name: 'unspecified', code: 0, use: 'No reason given; left out of the CRL entry and the OCSP answer.' },
    { name: 'keyCompromise', code: 1, use: 'The private key is, or may be, in someone else\u2019s hands: a stolen or lost device.' },
    { name: 'cACompromise', code: 2, use: 'The issuing CA\u2019s key is compromised.' },
    { name: 'affiliationChanged', code: 3, use: 'The holder left, or the device moved to another organisation.' },
    { name: 'superseded', code: 4, use: 'Replaced by a newer certificate.' },
    { name: 'cessationOfOperation', code: 5, use: 'The device or service is retired.' },
    { name: 'certificateHold', code: 6, use: 'Scepter cannot release a hold: it is as final as any other reason. Avoid it.' },
    { name: 'privilegeWithdrawn', code: 9, use: 'The holder lost the right to it (what Intune\u2019s wipe and retire use).' },
    { name: 'aACompromise', code: 10, use: 'An attribute authority is compromised.' },
  ];

  S.labels = {
    OUTCOMES,
    OPERATIONS,
    REASONS,
    /** The description of an outcome label, with a fallback for labels this console does not know. */
    outcome(label) {
      return byLabel.get(label) || { label: String(label), status: '', meaning: 'Unknown label (newer than this console).', hint: 'See docs/scep.md, \u201cOutcome labels\u201d.' };
    },
    reason(name) {
      return REASONS.find((r) => r.name === name);
    },
  };
})();
