import { ApiError, api, token } from './api.js';
import { deadLettersPage } from './dead-letters.js';
import { eventsPage } from './events.js';
import { overviewPage } from './overview.js';
import { relaysPage } from './relays.js';
import { replayPage } from './replay.js';

// Each page is a function (container, session) that draws itself and returns a stop function
// (for its refresh timer). The session says who is signed in: read-only users get no buttons.
const pages = {
  overview: overviewPage,
  relays: relaysPage,
  'dead-letters': deadLettersPage,
  replay: replayPage,
  events: eventsPage,
};

const $ = (id) => document.getElementById(id);
let stopPage = () => {};
let session = null;

async function signIn() {
  try {
    session = await api('whoami');
  } catch (error) {
    session = null;
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      token.clear();
      return false;
    }
    throw error;
  }
  $('who').textContent = `${session.schema} · ${session.role === 'admin' ? 'admin' : 'read-only'}`;
  $('who').dataset.role = session.role;
  $('nav').hidden = false;
  $('login').hidden = true;
  return true;
}

function showLogin(message = '') {
  $('login').hidden = false;
  $('nav').hidden = true;
  $('page').replaceChildren();
  $('login-error').textContent = message;
}

function route() {
  if (!session) return;
  const name = location.hash.slice(1) || 'overview';
  const page = pages[name] ?? overviewPage;
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('current', a.getAttribute('href') === `#${name}`);
  stopPage();
  // A fresh element per visit: a request of the page left behind that answers late draws into a
  // detached element, not over this one.
  const container = document.createElement('div');
  container.dataset.page = name;
  $('page').replaceChildren(container);
  stopPage = page(container, session) ?? (() => {});
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  token.set($('token').value.trim());
  if (await signIn()) route();
  else showLogin('That token is not accepted.');
});

window.addEventListener('hashchange', route);

// Open on loopback (no credentials needed) or a token kept from before: straight in.
signIn()
  .then((ok) => (ok ? route() : showLogin()))
  .catch((error) => showLogin(error.message));
