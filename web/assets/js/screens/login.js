// login.js — the sign-in form (POST /session {email, password}).
import { post } from '../api.js';
import { h, field, input, busy } from '../ui.js';

export function render(main, { message, onSignedIn }) {
  const email = input('email', { type: 'email', autocomplete: 'username', required: true });
  const password = input('password', { type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'login card', novalidate: true },
    h('h1', {}, 'Sign in to mailfleet'),
    message ? h('p', { class: 'note', role: 'status' }, message) : null,
    field('Email', email), field('Password', password), h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const session = await busy(submit, form, () => post('/session', { email: email.value.trim(), password: password.value }));
    if (session) { password.value = ''; onSignedIn(session); }
  });
  main.append(form);
  email.focus();
}
