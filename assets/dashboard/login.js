// Signs in with the operator token: typed, or from the link's fragment (#token=…), which the
// browser never sends to the server. The server answers with a session cookie.
const form = document.getElementById('sign-in');
const error = document.getElementById('sign-in-error');

async function signIn(token) {
  error.textContent = '';
  const response = await fetch('/dashboard/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
    credentials: 'same-origin',
  });
  if (response.ok) {
    location.replace('/dashboard');
    return;
  }
  const body = await response.json().catch(() => ({}));
  error.textContent = body.error ?? `sign-in failed (${response.status})`;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void signIn(form.elements.token.value.trim());
});

const fromLink = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromLink) {
  // The token leaves the address bar and the history at once.
  history.replaceState(null, '', location.pathname);
  void signIn(fromLink);
}
