// The share link's token is in the URL fragment (never sent to the server in the request
// line): post it to the same page, which answers with the read-only order view.
(function () {
  var token = window.location.hash.slice(1);
  var form = document.getElementById("share-open");
  if (!form || !token) { return; }
  form.elements.token.value = decodeURIComponent(token);
  history.replaceState(null, "", window.location.pathname);
  form.submit();
})();
