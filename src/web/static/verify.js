// The /verify page's only script (CSP script-src 'self', no inline code): shows upload progress.
// Without it the form posts as usual; with it, the same multipart post goes through
// XMLHttpRequest (fetch has no upload progress) and the answer's <main> replaces this page's.
(function () {
  'use strict';
  function bind() {
    var form = document.getElementById('verify-form');
    if (!form || !window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
    var box = document.getElementById('verify-progress');
    var bar = box && box.querySelector('progress');
    var label = box && box.querySelector('span');
    form.addEventListener('submit', function (event) {
      // The JSON and PDF reports are downloads: leave them to the browser.
      if (event.submitter && event.submitter.value !== 'html') return;
      event.preventDefault();
      var data = new FormData(form);
      data.set('format', 'html');
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.upload.addEventListener('progress', function (e) {
        if (e.lengthComputable && bar) bar.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.addEventListener('load', function () {
        var type = xhr.getResponseHeader('content-type') || '';
        if (type.indexOf('text/html') === 0) {
          var next = new DOMParser().parseFromString(xhr.responseText, 'text/html').querySelector('main');
          var main = document.querySelector('main');
          if (next && main) {
            // This script is already running: its copy in the answer stays out.
            Array.prototype.forEach.call(next.querySelectorAll('script'), function (s) {
              s.remove();
            });
            main.replaceWith(document.importNode(next, true));
            var heading = document.getElementById('result');
            if (heading) {
              heading.tabIndex = -1;
              heading.focus();
            }
            bind();
            return;
          }
        }
        var detail = xhr.statusText;
        try {
          detail = JSON.parse(xhr.responseText).detail || detail;
        } catch {
          // not a problem document: the status text stands
        }
        if (label) label.textContent = xhr.status + ': ' + detail;
      });
      xhr.addEventListener('error', function () {
        if (label) label.textContent = 'network error';
      });
      if (box) box.hidden = false;
      xhr.send(data);
    });
  }
  bind();
})();
