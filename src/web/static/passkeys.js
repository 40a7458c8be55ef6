// Passkey ceremonies of tinnhiem's pages (login, step-up, account). Served from our own origin
// under a CSP without inline script; every value it needs comes from data-* attributes.
'use strict';

(() => {
  const toBytes = (b64url) => {
    const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  };
  const toB64url = (buffer) => {
    let s = '';
    for (const byte of new Uint8Array(buffer)) s += String.fromCharCode(byte);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  const descriptors = (list) => (list || []).map((c) => ({ ...c, id: toBytes(c.id) }));

  async function postJson(url, csrf, body) {
    const res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body || {}),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.detail || json.title || `HTTP ${res.status}`);
    return json;
  }

  function assertionJson(credential) {
    const r = credential.response;
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : undefined,
      },
    };
  }

  function status(el, message) {
    if (!el) return;
    el.textContent = message;
    el.hidden = !message;
  }

  // `preloaded`: the options the page came with (their challenge serves once); a retry asks anew.
  async function signIn(urls, csrf, mediation, signal, preloaded) {
    const options = preloaded || (await postJson(urls.options, csrf));
    const publicKey = { ...options, challenge: toBytes(options.challenge), allowCredentials: descriptors(options.allowCredentials) };
    const credential = await navigator.credentials.get({ publicKey, mediation, signal });
    if (!credential) throw new Error('no credential');
    const result = await postJson(urls.verify, csrf, assertionJson(credential));
    window.location.assign(result.location);
  }

  // The passkey page (passwordless login or step-up): one button, modal ceremony.
  for (const button of document.querySelectorAll('[data-passkey-login]')) {
    const out = document.getElementById(button.dataset.status || '');
    if (!window.PublicKeyCredential) {
      status(out, button.dataset.unsupported || 'Passkeys are not supported by this browser.');
      button.disabled = true;
      continue;
    }
    let preloaded = null;
    try {
      preloaded = button.dataset.optionsJson ? JSON.parse(button.dataset.optionsJson) : null;
    } catch {
      preloaded = null;
    }
    button.addEventListener('click', () => {
      status(out, '');
      button.disabled = true;
      const first = preloaded;
      preloaded = null;
      signIn({ options: button.dataset.options, verify: button.dataset.verify }, button.dataset.csrf, 'optional', undefined, first).catch((err) => {
        status(out, `${button.dataset.failed || 'The passkey was not accepted'}: ${err.message}`);
        button.disabled = false;
      });
    });
  }

  // The password login page: conditional UI (passkeys offered in the username field's autofill),
  // with the options the page came with (else the options call).
  const link = document.querySelector('a[data-method="passkey"]');
  const csrfField = document.querySelector('form input[name="csrf"]');
  if (link && csrfField && window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable) {
    let preloaded = null;
    try {
      preloaded = link.dataset.optionsJson ? JSON.parse(link.dataset.optionsJson) : null;
    } catch {
      preloaded = null;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
      if (!available) return;
      const base = link.getAttribute('href');
      signIn({ options: `${base}/options`, verify: link.dataset.verify || `${base}/verify` }, csrfField.value, 'conditional', undefined, preloaded).catch(() => {
        // Conditional UI fails quietly (the user may simply type a password); the page stays.
      });
    });
  }

  // The account page: register a passkey under a name.
  for (const form of document.querySelectorAll('form[data-passkey-register]')) {
    const out = document.getElementById(form.dataset.status || '');
    if (!window.PublicKeyCredential) {
      status(out, form.dataset.unsupported || 'Passkeys are not supported by this browser.');
      continue;
    }
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const button = form.querySelector('button');
      button.disabled = true;
      status(out, '');
      (async () => {
        const csrf = form.dataset.csrf;
        // Without a strong login, an administrator's enrolment code allows the registration.
        const enrolmentCode = form.elements.enrolmentCode ? form.elements.enrolmentCode.value : undefined;
        const options = await postJson(form.dataset.options, csrf, { enrolmentCode });
        const publicKey = {
          ...options,
          challenge: toBytes(options.challenge),
          user: { ...options.user, id: toBytes(options.user.id) },
          excludeCredentials: descriptors(options.excludeCredentials),
        };
        const credential = await navigator.credentials.create({ publicKey });
        const r = credential.response;
        await postJson(form.action, csrf, {
          name: form.elements.name.value,
          enrolmentCode,
          response: {
            id: credential.id,
            rawId: toB64url(credential.rawId),
            type: credential.type,
            authenticatorAttachment: credential.authenticatorAttachment || undefined,
            clientExtensionResults: credential.getClientExtensionResults(),
            response: {
              clientDataJSON: toB64url(r.clientDataJSON),
              attestationObject: toB64url(r.attestationObject),
              transports: r.getTransports ? r.getTransports() : [],
            },
          },
        });
        window.location.reload();
      })().catch((err) => {
        status(out, `${form.dataset.failed || 'The passkey was not registered'}: ${err.message}`);
        button.disabled = false;
      });
    });
  }
})();
