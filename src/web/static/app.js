// Progress for large uploads. Without script the forms post normally.
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('form.upload').forEach(function (form) {
    form.addEventListener('submit', function (ev) {
      if (!window.XMLHttpRequest || !window.FormData) return;
      ev.preventDefault();
      var bar = form.querySelector('progress');
      var button = form.querySelector('button[type=submit]');
      if (button) button.disabled = true;
      if (bar) { bar.hidden = false; bar.value = 0; }
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.upload.onprogress = function (e) {
        if (bar && e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
      };
      xhr.onload = function () {
        // A redirect was followed: go where it led. Otherwise show the page returned
        // (row errors, unreadable files) as if the form had been posted normally.
        if (xhr.status < 300 && xhr.responseURL && xhr.responseURL !== form.action) {
          window.location.assign(xhr.responseURL);
        } else {
          document.open(); document.write(xhr.responseText); document.close();
        }
      };
      xhr.onerror = function () { if (button) button.disabled = false; if (bar) bar.hidden = true; alert('Network error / Lỗi mạng'); };
      xhr.send(new FormData(form));
    });
  });
});
