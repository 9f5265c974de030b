'use strict';
// The test front end's logic (see index.html). Its file name carries a content-hash-like part, as a
// built front end's assets do, so the server serves it as immutable.
(() => {
  const $ = (id) => document.getElementById(id);
  const json = async (response) => ({ ok: response.ok, body: await response.json() });
  window.seen = [];

  $('login').addEventListener('submit', async (event) => {
    event.preventDefault();
    const login = await json(await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: $('email').value, password: $('password').value }),
    }));
    if (!login.ok) {
      $('answer').textContent = login.body.message;
      return;
    }
    const token = login.body.access_token;
    // Where the reference front end keeps it, and reads it back for the socket.
    document.cookie = `access_token=${token}; path=/`;
    const auth = { Authorization: `Bearer ${token}` };
    const created = await json(await fetch('/api/profile', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ profilename: 'browser' }),
    }));
    const profile = created.body.profile;
    $('profile').textContent = profile.profilename;
    history.pushState({}, '', '/recofinement/dashboard/sandbox');

    const cookie = document.cookie.split('; ').filter((c) => c.startsWith('access_token'))[0].split('=')[1];
    const socket = io('/recommend', { transportOptions: { polling: { extraHeaders: { token: cookie } } } });
    socket.on('connect', () => socket.emit('join'));
    socket.on('connect_error', (error) => { $('answer').textContent = `connect_error: ${error.message}`; });
    socket.on('server_response', (data) => {
      window.seen.push(data);
      window.transport = socket.io.engine.transport.name;
      if (data.on === 'join') $('sandbox').hidden = false;
      if (data.action === 'recommend') $('answer').textContent = data.message;
    });
    $('launch').addEventListener('click', () => socket.emit('recommend', { profile_uuid: profile.uuid }));
  });
})();
